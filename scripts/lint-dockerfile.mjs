#!/usr/bin/env node
// Checks the Dockerfile without building it (building needs the base images from a container registry):
// 1. dockerfile-utils' validator (the one behind the Docker language server): unknown instructions, bad
//    flags and durations, malformed JSON forms, duplicate CMD/ENTRYPOINT/HEALTHCHECK in a stage, …
// 2. the stage layout the release workflow relies on, read with dockerfile-ast: the targets `runtime`, `uv`
//    and `default` (the last stage, so `docker build .` builds the plain image), both images run as the
//    non-root user `node` with the HEALTHCHECK and ENTRYPOINT of `runtime`, the uv stage copies uv and uvx
//    from a pinned uv image, every COPY --from names an earlier stage, and the pnpm version is package.json's.
// Prints each check, writes reports/lint-dockerfile.json ({"passed", "failed", "skipped": 0}, one per
// check) and exits 1 on any failure. Usage: node scripts/lint-dockerfile.mjs [Dockerfile]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DockerfileParser } from 'dockerfile-ast'
import { validate } from 'dockerfile-utils'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const path = process.argv[2] ?? join(ROOT, 'Dockerfile')
const text = readFileSync(path, 'utf8')
const results = []
const check = (name, ok, detail = '') => results.push({ name, ok: Boolean(ok), detail })

const diagnostics = validate(text, {})
check('dockerfile-utils validate: no diagnostics', diagnostics.length === 0,
  diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.message}`).join('; '))

const dockerfile = DockerfileParser.parse(text)
const argDefaults = Object.fromEntries(dockerfile.getInitialARGs().map((i) => i.getArgumentsContent().split('=')))
const stages = dockerfile.getFROMs().map((from, index) => {
  const start = from.getRange().start.line
  const next = dockerfile.getFROMs()[index + 1]
  const end = next ? next.getRange().start.line : Infinity
  const instructions = dockerfile.getInstructions().filter((i) => i.getRange().start.line >= start && i.getRange().start.line < end)
  return { name: from.getBuildStage(), image: from.getImageName(), from, instructions }
})
const stage = (name) => stages.find((s) => s.name === name)
const last = (s, keyword) => s?.instructions.filter((i) => i.getKeyword() === keyword).at(-1)
const names = stages.map((s) => s.name)

check('stages uv-bin, build, runtime, uv, default (in that order)', names.join(',') === 'uv-bin,build,runtime,uv,default', names.join(','))
check('the last stage (no --target) is `default`, FROM runtime, adding nothing', stages.at(-1)?.name === 'default' && stages.at(-1).image === 'runtime' && stages.at(-1).instructions.length === 1)
check('uv stage is FROM runtime', stage('uv')?.image === 'runtime')

const runtime = stage('runtime')
check('runtime: USER node (non-root)', last(runtime, 'USER')?.getArgumentsContent() === 'node')
const healthcheck = last(runtime, 'HEALTHCHECK')
check('runtime: HEALTHCHECK on /ping', healthcheck && /\/ping/.test(healthcheck.getArgumentsContent()) && !/^NONE/i.test(healthcheck.getArgumentsContent()))
check('runtime: ENTRYPOINT is the CLI', /\/app\/dist\/cli\.js/.test(last(runtime, 'ENTRYPOINT')?.getArgumentsContent() ?? ''))
check('runtime: EXPOSE 3000', last(runtime, 'EXPOSE')?.getArgumentsContent() === '3000')

const uv = stage('uv')
check('uv: ends as USER node (non-root)', last(uv, 'USER')?.getArgumentsContent() === 'node')
check('uv: does not replace HEALTHCHECK, ENTRYPOINT or CMD (inherits runtime)', !['HEALTHCHECK', 'ENTRYPOINT', 'CMD'].some((k) => last(uv, k)))
// The --from flag of a COPY (flags are not part of getArgumentsContent()).
const fromFlag = (i) => i.getFlags?.().find((f) => f.getName() === 'from')?.getValue()
const uvCopy = uv?.instructions.find((i) => i.getKeyword() === 'COPY' && fromFlag(i) === 'uv-bin')
check('uv: copies /uv and /uvx from the uv-bin stage', uvCopy && /\s\/uv\s/.test(` ${uvCopy.getArgumentsContent()} `) && /\s\/uvx\s/.test(` ${uvCopy.getArgumentsContent()} `))
check('uv: installs python3', uv?.instructions.some((i) => i.getKeyword() === 'RUN' && /apt-get install[^&]*\bpython3\b/.test(i.getArgumentsContent())))

const uvImage = stage('uv-bin')?.from.getArgumentsContent() ?? ''
const uvVersion = uvImage.replace(/\$\{?UV_VERSION\}?/, argDefaults.UV_VERSION ?? '')
check('uv-bin: ghcr.io/astral-sh/uv pinned to a version (not latest)', /^ghcr\.io\/astral-sh\/uv:\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?\s+AS\s+uv-bin$/i.test(uvVersion), uvVersion)

const copyFroms = dockerfile.getInstructions().filter((i) => i.getKeyword() === 'COPY')
  .map((i) => ({ line: i.getRange().start.line, from: fromFlag(i) })).filter((c) => c.from)
const bad = copyFroms.filter((c) => !stages.some((s) => s.name === c.from && s.from.getRange().start.line < c.line))
check(`every COPY --from (${copyFroms.length}) names an earlier stage`, copyFroms.length > 0 && bad.length === 0, bad.map((c) => `line ${c.line + 1}: ${c.from}`).join('; '))

const pnpm = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).packageManager.split('@')[1]
const pnpmRun = stage('build')?.instructions.find((i) => /npm install -g pnpm@/.test(i.getArgumentsContent()))
check(`build: installs pnpm@${pnpm} (package.json packageManager)`, pnpmRun?.getArgumentsContent().includes(`pnpm@${pnpm}`), pnpmRun?.getArgumentsContent())

let passed = 0
let failed = 0
for (const r of results) {
  if (r.ok) passed++
  else failed++
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${!r.ok && r.detail ? ` (${r.detail})` : ''}`)
}
mkdirSync(join(ROOT, 'reports'), { recursive: true })
writeFileSync(join(ROOT, 'reports', 'lint-dockerfile.json'), JSON.stringify({ passed, failed, skipped: 0 }) + '\n')
console.log(`lint-dockerfile: ${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
