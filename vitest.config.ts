import { defineConfig } from 'vitest/config'

// One vitest run covers every package. Each project resolves workspace packages to their TypeScript
// sources through the "@proxy/source" export condition, so tests never depend on a stale build.
const shared = {
  // Inherit the root's test options (timeouts, reporters) in every project.
  extends: true as const,
  resolve: { conditions: ['@proxy/source'] },
  ssr: { resolve: { conditions: ['@proxy/source'] } },
}

export default defineConfig({
  test: {
    // VITEST_JSON_REPORT: another file for the JSON report (scripts/other-nodes.sh keeps one per Node).
    reporters: ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT ?? 'reports/vitest.json' }]],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    projects: [
      { ...shared, test: { name: 'core', include: ['packages/core/test/**/*.test.ts'] } },
      { ...shared, test: { name: 'fastify-plugin', include: ['packages/fastify-plugin/test/**/*.test.ts'] } },
      { ...shared, test: { name: 'server', include: ['apps/server/test/**/*.test.ts'] } },
      { ...shared, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
})
