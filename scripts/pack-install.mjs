// Pack-and-install check: the CLI must install and run from the packed tarballs alone.
// Assumes `pnpm build` ran (builds nothing). Packs @proxy/core, @proxy/fastify-plugin and the CLI with
// `pnpm pack` (which rewrites workspace: ranges), installs the three tarballs with
// `npm install -g --prefix <tmp>` (third-party dependencies come from the registry), then, from a cwd
// outside the repository, runs the installed `mcp-proxy --version`, starts it three times in front of
// fixtures/echo-server.mjs (start-up = spawn → first 200 on /ping, median of 3), does initialize +
// notifications/initialized + tools/call echo over Streamable HTTP, and stops it with SIGTERM (exit 0).
// Every step has a timeout, the whole run is bounded (< 3 min), every process it starts is killed and
// the temp dir removed. Writes reports/pack-install.json ({passed, failed, skipped}) for
// scripts/test-summary.mjs; prints one line per check; exits 1 if any check failed.
/* global AbortSignal */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PACKAGES = ['packages/core', 'packages/fastify-plugin', 'apps/server']
const ECHO_SERVER = join(ROOT, 'fixtures', 'echo-server.mjs')
const TOTAL_BUDGET_MS = 170_000
const STARTS = 3

const checks = []
const children = new Set()
let tmp

function check(name, ok, detail = '') {
  checks.push({ name, ok })
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`)
  return ok
}

/** An environment without the proxy's own settings, so nothing from the caller's shell changes the run. */
function cleanEnv() {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MCP_PROXY_')) env[k] = v
  return env
}

function killGroup(child, signal = 'SIGKILL') {
  try {
    process.kill(-child.pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}

/** Run a command to completion (bounded); resolves with {code, stdout, stderr, ms}. */
function run(cmd, args, { cwd, timeoutMs, env = process.env }) {
  return new Promise((resolve) => {
    const started = performance.now()
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      stderr += `\n[pack-install] timed out after ${timeoutMs} ms`
      killGroup(child)
    }, timeoutMs)
    child.once('error', (error) => {
      stderr += `\n${error.message}`
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({ code: code ?? signal, stdout, stderr, ms: Math.round(performance.now() - started) })
    })
  })
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms))
}

function tail(text, lines = 15) {
  return text.trim().split('\n').slice(-lines).join('\n')
}

/** Every string value of a dependency map that still uses the workspace: protocol. */
function workspaceRanges(pkg) {
  const found = []
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [name, range] of Object.entries(pkg[field] ?? {})) {
      if (String(range).startsWith('workspace:')) found.push(`${field}.${name}=${range}`)
    }
  }
  return found
}

/** Every package.json under a node_modules tree (bounded walk, no symlink following). */
function packageJsons(dir, out = []) {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return out
  }
  for (const e of entries) {
    const p = join(dir, e.name)
    if (e.isFile() && e.name === 'package.json') out.push(p)
    else if (e.isDirectory()) packageJsons(p, out)
  }
  return out
}

const MCP_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' }

async function post(url, body, headers = {}) {
  return fetch(url, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) })
}

async function messageOf(res) {
  const text = await res.text()
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) return JSON.parse(text)
  const data = text.split('\n').find((l) => l.startsWith('data: ') && l.length > 6)
  if (!data) throw new Error(`no SSE data line in: ${text}`)
  return JSON.parse(data.slice(6))
}

/**
 * Start the installed CLI; resolve once /ping answers 200, with the time from spawn to that 200, the
 * Streamable HTTP URL from the "MCP proxy ready:" line, and a stop() that sends SIGTERM and resolves
 * with the exit code (SIGKILL after 5 s).
 */
async function startProxy(bin, cwd) {
  const started = performance.now()
  const proc = spawn(bin, ['--port', '0', '--host', '127.0.0.1', '--log-format', 'json', '--drain-timeout', '0', '--', process.execPath, ECHO_SERVER], {
    cwd,
    env: cleanEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  })
  children.add(proc)
  let err = ''
  proc.stderr.setEncoding('utf8').on('data', (d) => (err += d))
  const exited = new Promise((resolve) =>
    proc.once('exit', (code, signal) => {
      resolve(code ?? signal ?? -1)
    }),
  )
  proc.once('close', () => children.delete(proc))
  let gone = false
  void exited.then(() => (gone = true))
  const stop = async () => {
    if (!gone) proc.kill('SIGTERM')
    const timer = setTimeout(() => {
      if (!gone) killGroup(proc)
    }, 5000)
    const code = await exited
    clearTimeout(timer)
    // the MCP server child should be gone with the proxy; make sure nothing of the group stays
    killGroup(proc)
    return code
  }
  const ready = () =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l)
        } catch {
          return undefined
        }
      })
      .find((l) => l && typeof l.msg === 'string' && l.msg.startsWith('MCP proxy ready:') && typeof l.streamable === 'string')
  const deadline = started + 10_000
  let line
  while (!gone && performance.now() < deadline && !(line = ready())) await sleep(5)
  if (!line) {
    await stop()
    throw new Error(`no "MCP proxy ready:" line within 10 s (exited: ${gone}); stderr:\n${tail(err)}`)
  }
  const streamable = new URL(line.streamable)
  const ping = new URL('/ping', streamable.origin)
  let startupMs
  while (!gone && performance.now() < deadline) {
    try {
      const res = await fetch(ping, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.status === 200) {
        startupMs = performance.now() - started
        break
      }
    } catch {
      // not listening yet
    }
    await sleep(5)
  }
  if (startupMs === undefined) {
    await stop()
    throw new Error(`/ping did not answer 200 within 10 s; stderr:\n${tail(err)}`)
  }
  return { streamable, startupMs, stop, stderr: () => err }
}

async function main() {
  const serverPkg = JSON.parse(readFileSync(join(ROOT, 'apps/server/package.json'), 'utf8'))
  const version = serverPkg.version

  // 0. built?
  const missing = PACKAGES.filter((p) => !existsSync(join(ROOT, p, 'dist')))
  if (!check('dist/ present in the three packages (pnpm build ran)', missing.length === 0, missing.length ? `missing: ${missing.join(', ')}` : '')) return
  const cliDist = join(ROOT, 'apps/server/dist/cli.js')
  check('apps/server/dist/cli.js starts with #!/usr/bin/env node', readFileSync(cliDist, 'utf8').startsWith('#!/usr/bin/env node\n'))

  tmp = mkdtempSync(join(tmpdir(), 'mcp-proxy-pack-'))
  const packs = join(tmp, 'packs')
  const prefix = join(tmp, 'prefix')
  const outside = join(tmp, 'cwd')
  mkdirSync(packs)
  mkdirSync(prefix)
  mkdirSync(outside)

  // 1. pack
  const tarballs = []
  for (const dir of PACKAGES) {
    const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'))
    const before = new Set(readdirSync(packs))
    const r = await run('pnpm', ['pack', '--pack-destination', packs], { cwd: join(ROOT, dir), timeoutMs: 30_000 })
    const made = readdirSync(packs).filter((f) => f.endsWith('.tgz') && !before.has(f))
    if (!check(`pnpm pack ${pkg.name}`, r.code === 0 && made.length === 1, r.code === 0 ? `${made[0]}, ${(statSync(join(packs, made[0])).size / 1024).toFixed(1)} KiB, ${r.ms} ms` : tail(r.stderr))) return
    const tgz = join(packs, made[0])
    tarballs.push(tgz)

    // the packed manifest: no workspace: ranges, no source-only export condition, version in step
    const m = await run('tar', ['-xzOf', tgz, 'package/package.json'], { cwd: tmp, timeoutMs: 10_000 })
    let packed = {}
    try {
      packed = JSON.parse(m.stdout)
    } catch {
      // reported below
    }
    const ws = workspaceRanges(packed)
    check(`${pkg.name}: packed package.json has no workspace: ranges`, m.code === 0 && ws.length === 0 && !m.stdout.includes('workspace:'), ws.join(', '))
    const exportsText = JSON.stringify(packed.exports ?? {})
    check(`${pkg.name}: packed exports resolve to dist only (no @proxy/source)`, !exportsText.includes('@proxy/source') && !exportsText.includes('./src/'), exportsText)
    check(`${pkg.name}: packed version ${packed.version} = ${version}, not private`, packed.version === version && packed.private !== true)
    const internal = Object.entries(packed.dependencies ?? {}).filter(([n]) => n.startsWith('@proxy/'))
    if (internal.length) check(`${pkg.name}: internal deps pinned to ${version}`, internal.every(([, r]) => r === version), internal.map(([n, r]) => `${n}@${r}`).join(', '))
    const list = await run('tar', ['-tzf', tgz], { cwd: tmp, timeoutMs: 10_000 })
    const files = list.stdout.trim().split('\n')
    check(`${pkg.name}: tarball holds package.json, README.md and dist/ only`, files.includes('package/package.json') && files.includes('package/README.md') && files.every((f) => /^package\/(package\.json|README\.md|LICENSE|dist\/.+)$/.test(f)), `${files.length} files`)
  }

  // 2. install the three tarballs into an empty prefix
  const install = await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: outside, timeoutMs: 90_000 })
  if (!check('npm install -g --prefix <tmp> <three tarballs>', install.code === 0, install.code === 0 ? `${install.ms} ms` : tail(install.stderr))) return
  const bin = join(prefix, 'bin', 'mcp-proxy')
  if (!check('<prefix>/bin/mcp-proxy exists', existsSync(bin))) return

  const installed = packageJsons(join(prefix, 'lib', 'node_modules'))
  const leftovers = []
  for (const file of installed) {
    try {
      const ws = workspaceRanges(JSON.parse(readFileSync(file, 'utf8')))
      if (ws.length) leftovers.push(`${file.slice(prefix.length)}: ${ws.join(', ')}`)
    } catch {
      // not a manifest (fixtures inside some dependency)
    }
  }
  check('installed tree has no workspace: ranges', leftovers.length === 0, leftovers.length ? leftovers.slice(0, 5).join('; ') : `${installed.length} package.json files scanned`)

  // 3. --version
  const v = await run(bin, ['--version'], { cwd: outside, timeoutMs: 15_000, env: cleanEnv() })
  check(`mcp-proxy --version reports ${version}`, v.code === 0 && v.stdout.startsWith(`mcp-proxy ${version} `), v.stdout.trim() || tail(v.stderr))

  // 4. three starts: start-up time, one MCP exchange, SIGTERM → exit 0
  const startups = []
  for (let i = 1; i <= STARTS; i++) {
    let proxy
    try {
      proxy = await startProxy(bin, outside)
    } catch (error) {
      check(`start ${i}: /ping answers 200`, false, error.message)
      continue
    }
    startups.push(proxy.startupMs)
    check(`start ${i}: /ping answers 200`, true, `${Math.round(proxy.startupMs)} ms after spawn`)
    if (i === 1) {
      try {
        const url = proxy.streamable
        const init = await post(url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'pack-install', version } } })
        const session = init.headers.get('mcp-session-id')
        const initMsg = await messageOf(init)
        check('initialize → 200 with Mcp-Session-Id', init.status === 200 && !!session && !!initMsg.result, `HTTP ${init.status}, server ${initMsg.result?.serverInfo?.name ?? '?'}`)
        const note = await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': session })
        await note.arrayBuffer()
        check('notifications/initialized → 202', note.status === 202, `HTTP ${note.status}`)
        const text = `pack-install ${process.pid} ${Date.now()}`
        const call = await post(url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text } } }, { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' })
        const msg = await messageOf(call)
        const got = msg.result?.content?.[0]?.text
        check('tools/call echo returns the text', call.status === 200 && got === text, `HTTP ${call.status}, ${JSON.stringify(got ?? msg.error)}`)
      } catch (error) {
        check('MCP exchange (initialize, initialized, tools/call echo)', false, error.message)
      }
    }
    const code = await proxy.stop()
    check(`start ${i}: SIGTERM → exit 0`, code === 0, `exit ${code}${code === 0 ? '' : `; stderr:\n${tail(proxy.stderr())}`}`)
  }
  if (startups.length) {
    const sorted = [...startups].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)]
    console.log(`start-up (spawn → first 200 on /ping): median ${Math.round(median)} ms of ${startups.length} [${startups.map((s) => Math.round(s)).join(', ')}] ms; install ${install.ms} ms`)
  }
}

function cleanup() {
  for (const child of children) killGroup(child)
  children.clear()
  if (tmp) rmSync(tmp, { recursive: true, force: true })
}

function finish() {
  cleanup()
  const passed = checks.filter((c) => c.ok).length
  const failed = checks.length - passed
  mkdirSync(join(ROOT, 'reports'), { recursive: true })
  writeFileSync(join(ROOT, 'reports', 'pack-install.json'), JSON.stringify({ passed, failed, skipped: 0 }) + '\n')
  console.log(`pack-install: ${passed} passed, ${failed} failed`)
  process.exit(failed > 0 ? 1 : 0)
}

const budget = setTimeout(() => {
  check(`the whole run finishes within ${TOTAL_BUDGET_MS / 1000} s`, false)
  finish()
}, TOTAL_BUDGET_MS)
budget.unref()
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    check(`interrupted by ${signal}`, false)
    finish()
  })
}

main()
  .catch((error) => check('pack-install ran without an unexpected error', false, error.stack ?? String(error)))
  .finally(finish)
