// Records the git commit the CLI is built from in dist/build-info.json, for `mcp-proxy --version`.
// GIT_COMMIT wins (a Docker build has no .git: pass --build-arg GIT_COMMIT=$(git rev-parse HEAD));
// outside a git checkout, or without git, the commit is "unknown". Never fails the build.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'

let commit = process.env.GIT_COMMIT?.trim().slice(0, 12) || 'unknown'
if (commit === 'unknown') {
  try {
    const cwd = new URL('..', import.meta.url)
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
  } catch {
    // not a git checkout, or no git
  }
}
const dist = new URL('../dist/', import.meta.url)
mkdirSync(dist, { recursive: true })
writeFileSync(new URL('build-info.json', dist), JSON.stringify({ commit, builtAt: new Date().toISOString() }) + '\n')
