// Records the git commit the CLI was built from (dist/build-info.json), for `mcp-proxy --version`.
// Outside a git checkout (a Docker build context without .git) the commit is "unknown".
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'

let commit = 'unknown'
try {
  commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()
} catch {
  // not a git checkout, or no git
}
writeFileSync(new URL('../dist/build-info.json', import.meta.url), JSON.stringify({ commit, builtAt: new Date().toISOString() }) + '\n')
