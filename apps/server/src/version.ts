import { readFileSync } from 'node:fs'

function readJson(relative: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as Record<string, unknown>
  } catch {
    return {}
  }
}

/** What `--version` reports: package version, the commit it was built from, the Node running it. */
export function versionInfo(): { version: string; commit: string; builtAt: string; node: string; platform: string } {
  const pkg = readJson('../package.json')
  // Written next to the compiled files by scripts/write-build-info.mjs at build time.
  const build = readJson('./build-info.json')
  return {
    version: String(pkg.version ?? 'unknown'),
    commit: String(build.commit ?? 'unknown'),
    builtAt: String(build.builtAt ?? 'unknown'),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  }
}

/** `mcp-proxy --version`: one line. */
export function versionText(): string {
  const v = versionInfo()
  return `mcp-proxy ${v.version} (commit ${v.commit}, built ${v.builtAt}, node ${v.node}, ${v.platform})\n`
}
