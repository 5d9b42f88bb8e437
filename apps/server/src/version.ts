import { readFileSync } from 'node:fs'

function readJson(relative: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as Record<string, unknown>
  } catch {
    return {}
  }
}

/** `mcp-proxy --version`: the package version, the git commit it was built from, and the Node version. */
export function versionText(): string {
  const pkg = readJson('../package.json')
  const build = readJson('./build-info.json')
  return `mcp-proxy ${String(pkg.version ?? 'unknown')} (commit ${String(build.commit ?? 'unknown')}, node ${process.version})`
}
