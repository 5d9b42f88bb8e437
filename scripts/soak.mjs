#!/usr/bin/env node
// Soak test of the proxy (`pnpm soak`; not part of the test suite). Starts the built CLI in front of the
// echo fixture, runs N concurrent session workers × M calls each (then a new session) for a bounded time,
// with random client disconnects (a call aborted mid-way) and child crashes (the echo `crash` tool: the
// session dies, the next request gets 404, the client initializes again), then stops the proxy and
// reports: sessions opened, calls made, disconnects and crashes injected, unexpected errors (target 0),
// children left after shutdown (target 0), proxy RSS after warm-up and at the end (target: within 10%).
// Exits non-zero if a target is missed.
//
//   node scripts/soak.mjs [--seconds 60] [--sessions 20] [--calls 100] [--warmup 10] [--seed N]
//
// Builds nothing itself (the `soak` script runs `pnpm build` first). If apps/server/dist/cli.js is not
// built, a tiny Fastify server with the built plugin (packages/fastify-plugin/dist) runs instead, in its
// own process (so its RSS is the proxy's alone, and its exit can be checked for orphans); it says so.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { MCP_HEADERS, alive, createHttpClient, createRandom, freePort, messagesOf, procStat, readProc, rssKiB, sleep } from './soak-lib.mjs'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const CLI = join(ROOT, 'apps/server/dist/cli.js')
const PLUGIN = join(ROOT, 'packages/fastify-plugin/dist/index.js')
const FIXTURE = join(ROOT, 'fixtures/echo-server.mjs')
const FIXTURE_MATCH = 'fixtures/echo-server.mjs'

// ------------------------------------------------------------------------------------------------------
// Options.

function parseArgs(argv) {
  const options = { seconds: 60, sessions: 20, calls: 100, warmup: undefined, seed: Date.now() % 1_000_000 }
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]?.replace(/^--/, '')
    if (name === 'help' || name === 'h') {
      console.log('usage: node scripts/soak.mjs [--seconds 60] [--sessions 20] [--calls 100] [--warmup 10] [--seed N]')
      process.exit(0)
    }
    if (!(name in options)) throw new Error(`unknown option ${argv[i]}`)
    const value = Number(argv[++i])
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number`)
    options[name] = value
  }
  options.warmup ??= Math.min(10, Math.max(2, Math.round(options.seconds / 6)))
  return options
}
const options = parseArgs(process.argv.slice(2))

// A small seeded PRNG (mulberry32), so a run can be repeated with --seed.
const { random, pick } = createRandom(options.seed)
const IDLE_MS = 10_000

// ------------------------------------------------------------------------------------------------------
// /proc (readers in soak-lib.mjs).

/** Live processes running the fixture whose parent is `parent`. */
function fixtureChildren(parent) {
  const pids = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = procStat(entry)
    if (!stat || stat.ppid !== parent || stat.state === 'Z') continue
    if ((readProc(entry, 'cmdline') ?? '').split('\0').join(' ').includes(FIXTURE_MATCH)) pids.push(Number(entry))
  }
  return pids
}

// ------------------------------------------------------------------------------------------------------
// The proxy.

// The fallback server: the built plugin in a bare Fastify, stopped (app.close) on SIGTERM/SIGINT.
function fallbackScript(port) {
  const require = createRequire(join(ROOT, 'package.json'))
  const fastify = pathToFileURL(require.resolve('fastify')).href
  return `
    import Fastify from ${JSON.stringify(fastify)}
    import mcpProxy from ${JSON.stringify(pathToFileURL(PLUGIN).href)}
    const app = Fastify({ logger: false })
    await app.register(mcpProxy, { command: process.execPath, args: [${JSON.stringify(FIXTURE)}] })
    await app.listen({ host: '127.0.0.1', port: ${port} })
    let closing = false
    const stop = () => {
      if (closing) return
      closing = true
      app.close().then(() => process.exit(0), (error) => { console.error(error); process.exit(1) })
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
    // Diagnostics: a full GC, then the heap figures on stdout.
    process.on('SIGUSR2', () => {
      globalThis.gc?.()
      const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage()
      process.stdout.write('HEAP ' + JSON.stringify({ rss, heapUsed, heapTotal, external, arrayBuffers }) + '\\n')
    })
  `
}

async function startProxy(port) {
  let args
  let kind
  if (existsSync(CLI)) {
    // --drain-timeout 0: the soak checks the shutdown itself; a drain would wait for sessions it left open.
    args = [CLI, '--host', '127.0.0.1', '--port', String(port), '--drain-timeout', '0', '--quiet', '--', process.execPath, FIXTURE]
    kind = 'CLI (apps/server/dist/cli.js)'
  } else if (existsSync(PLUGIN)) {
    args = ['--expose-gc', '--input-type=module', '-e', fallbackScript(port)]
    kind = 'FALLBACK: apps/server/dist/cli.js is not built; a bare Fastify with packages/fastify-plugin/dist, in its own process'
  } else {
    throw new Error('nothing to run: build first (pnpm build)')
  }
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const output = []
  const keep = (chunk) => {
    output.push(chunk.toString())
    if (output.length > 50) output.shift()
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return { child, kind, output, exited, fallback: !existsSync(CLI) }
}

// ------------------------------------------------------------------------------------------------------
// A small HTTP client: keep-alive, abortable, answers read whole.

const agent = new http.Agent({ keepAlive: true, maxSockets: options.sessions * 2 + 4 })
let baseUrl
const httpRequest = createHttpClient({ agent, baseUrl: () => baseUrl })

// ------------------------------------------------------------------------------------------------------
// The load.

const counts = { sessionsOpened: 0, calls: 0, disconnects: 0, crashes: 0, unexpected: 0, expected404: 0 }
const samples = []
let measuring = false

function unexpected(what, detail) {
  counts.unexpected++
  if (samples.length < 10) samples.push(`${what}: ${String(detail).slice(0, 300)}`)
}

async function openSession() {
  const answer = await httpRequest('POST', '/mcp', {
    headers: MCP_HEADERS,
    body: { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'soak', version: '1' } } },
  })
  const session = answer.headers['mcp-session-id']
  const init = messagesOf(answer).find((m) => m.id === 0)
  if (answer.status !== 200 || typeof session !== 'string' || !init?.result) throw new Error(`initialize: ${answer.status} ${answer.body.slice(0, 200)}`)
  const done = await httpRequest('POST', '/mcp', { headers: { ...MCP_HEADERS, 'mcp-session-id': session }, body: { jsonrpc: '2.0', method: 'notifications/initialized' } })
  if (done.status !== 202) throw new Error(`notifications/initialized: ${done.status}`)
  if (measuring) counts.sessionsOpened++
  return session
}

/** One ordinary call and the check of its answer. */
function ordinaryCall(id) {
  const kind = pick(['echo', 'echo', 'echo', 'add', 'payload', 'progress', 'log', 'ping'])
  switch (kind) {
    case 'echo': {
      const text = `soak-${id}-${'é'.repeat(Math.floor(random() * 20))}`
      return { message: { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text } } }, check: (r) => r.result?.content?.[0]?.text === text }
    }
    case 'add': {
      const a = Math.floor(random() * 1000)
      const b = Math.floor(random() * 1000)
      return { message: { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'add', arguments: { a, b } } }, check: (r) => r.result?.content?.[0]?.text === String(a + b) }
    }
    case 'payload': {
      const bytes = Math.floor(random() * 20_000)
      return { message: { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'payload', arguments: { bytes } } }, check: (r) => r.result?.content?.[0]?.text?.length === bytes }
    }
    case 'progress':
      return {
        message: { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'progress', arguments: { steps: 3, ms: 1 }, _meta: { progressToken: `p${id}` } } },
        check: (r, all) => r.result?.content?.[0]?.text === 'progress done' && all.filter((m) => m.method === 'notifications/progress').length === 3,
      }
    case 'log':
      return { message: { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'log', arguments: { message: 'm', count: 3 } } }, check: (r) => r.result?.content?.[0]?.text === 'logged' }
    default:
      return { message: { jsonrpc: '2.0', id, method: 'ping' }, check: (r) => r.result !== undefined && r.error === undefined }
  }
}

async function worker(stopAt) {
  let session
  let callsInSession = 0
  let id = 0
  while (Date.now() < stopAt) {
    try {
      if (!session) {
        session = await openSession()
        callsInSession = 0
      }
      if (callsInSession >= options.calls) {
        const closed = await httpRequest('DELETE', '/mcp', { headers: { 'mcp-session-id': session } })
        if (closed.status !== 200) unexpected('DELETE', closed.status)
        session = undefined
        continue
      }
      callsInSession++
      id++
      const headers = { ...MCP_HEADERS, 'mcp-session-id': session }
      const roll = random()
      if (roll < 0.005) {
        // A child crash: the call gets the exit error, then the session is gone (404), then a new one.
        if (measuring) counts.crashes++
        const answer = await httpRequest('POST', '/mcp', { headers, body: { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'crash', arguments: { code: 7 } } } })
        const error = messagesOf(answer).find((m) => m.id === id)?.error
        if (answer.status !== 200 || !/exited/.test(error?.message ?? '')) unexpected('crash answer', `${answer.status} ${answer.body}`)
        const after = await httpRequest('POST', '/mcp', { headers, body: { jsonrpc: '2.0', id: id + 0.5, method: 'ping' } })
        if (after.status === 404) {
          if (measuring) counts.expected404++
        }
        else unexpected('after a crash', `${after.status} ${after.body.slice(0, 200)}`)
        session = undefined
        continue
      }
      if (roll < 0.02) {
        // A client disconnect mid-call: a slow call aborted before its answer.
        if (measuring) counts.disconnects++
        try {
          await httpRequest('POST', '/mcp', {
            headers,
            body: { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'slow', arguments: { ms: 100 + Math.floor(random() * 200) } } },
            abortAfterMs: 10 + Math.floor(random() * 40),
          })
          unexpected('disconnect', 'the slow call answered before the abort')
        } catch (error) {
          if (!/aborted by the soak client/.test(String(error?.message))) unexpected('disconnect', error)
        }
        continue
      }
      const { message, check } = ordinaryCall(id)
      const answer = await httpRequest('POST', '/mcp', { headers, body: message })
      if (measuring) counts.calls++
      if (answer.status !== 200) {
        unexpected(`${message.method} status`, `${answer.status} ${answer.body.slice(0, 200)}`)
        if (answer.status === 404) session = undefined
        continue
      }
      const all = messagesOf(answer)
      const response = all.find((m) => m.id === id && m.method === undefined)
      if (!response || !check(response, all)) unexpected(`${message.params?.name ?? message.method} answer`, JSON.stringify(response ?? all).slice(0, 300))
    } catch (error) {
      unexpected('request', error?.message ?? error)
      session = undefined
      await sleep(50)
    }
  }
  if (session) await httpRequest('DELETE', '/mcp', { headers: { 'mcp-session-id': session } }).catch(() => {})
}

async function load(seconds) {
  const stopAt = Date.now() + seconds * 1000
  await Promise.all(Array.from({ length: options.sessions }, () => worker(stopAt)))
}

// ------------------------------------------------------------------------------------------------------
// Main.

async function main() {
  const port = await freePort()
  baseUrl = `http://127.0.0.1:${port}`
  const proxy = await startProxy(port)
  const pid = proxy.child.pid
  console.log(`soak: ${proxy.kind}`)
  console.log(`soak: proxy pid ${pid} on ${baseUrl}; ${options.sessions} workers × ${options.calls} calls per session; ${options.seconds} s (+${options.warmup} s warm-up); seed ${options.seed}`)

  let proxyGone = false
  void proxy.exited.then(() => (proxyGone = true))
  const readyBy = Date.now() + 15_000
  for (;;) {
    if (proxyGone) throw new Error(`the proxy exited at start:\n${proxy.output.join('')}`)
    const ok = await httpRequest('GET', '/ping').then((r) => r.status === 200, () => false)
    if (ok) break
    if (Date.now() > readyBy) throw new Error(`the proxy did not answer /ping within 15 s:\n${proxy.output.join('')}`)
    await sleep(100)
  }

  // Every fixture process the proxy starts, sampled while it runs (after its exit they are orphans).
  const seen = new Set()
  let peakRss = 0
  const sampler = setInterval(() => {
    for (const child of fixtureChildren(pid)) seen.add(child)
    peakRss = Math.max(peakRss, rssKiB(pid) ?? 0)
  }, 250)

  // Fallback only: the heap after a full GC (SIGUSR2), to tell a leak from a heap that did not shrink.
  const heapAfterGc = async () => {
    if (!proxy.fallback) return undefined
    proxy.output.length = 0
    proxy.child.kill('SIGUSR2')
    await sleep(500)
    const line = proxy.output.join('').split('\n').reverse().find((l) => l.startsWith('HEAP '))
    return line ? JSON.parse(line.slice(5)) : undefined
  }

  await load(options.warmup)
  // Both samples after the same idle: long enough for V8's memory reducer (it acts ~8 s after the load
  // stops) to give back what the load allocated, so a difference is what the proxy kept.
  await sleep(IDLE_MS)
  const rssStart = rssKiB(pid)
  const heapStart = await heapAfterGc()

  measuring = true
  const started = Date.now()
  await load(options.seconds)
  const elapsed = (Date.now() - started) / 1000
  measuring = false
  await sleep(IDLE_MS) // slow calls of aborted clients finish, sessions close, the heap settles
  const rssEnd = rssKiB(pid)
  const heapEnd = await heapAfterGc()
  const ready = await httpRequest('GET', '/ready').catch((error) => ({ status: 0, body: String(error) }))

  for (const child of fixtureChildren(pid)) seen.add(child)
  clearInterval(sampler)
  agent.destroy()
  proxy.child.kill('SIGTERM')
  const exit = await Promise.race([proxy.exited, sleep(15_000).then(() => undefined)])
  if (!exit) {
    proxy.child.kill('SIGKILL')
    unexpected('shutdown', 'the proxy did not exit within 15 s of SIGTERM')
  }
  await sleep(500)
  const left = [...seen].filter((child) => alive(child) && (readProc(child, 'cmdline') ?? '').includes(FIXTURE_MATCH))

  const growth = rssStart && rssEnd ? (rssEnd - rssStart) / rssStart : undefined
  const rows = [
    ['duration (measured)', `${elapsed.toFixed(1)} s`],
    ['sessions opened', counts.sessionsOpened],
    ['calls made', `${counts.calls} (${(counts.calls / elapsed).toFixed(0)}/s)`],
    ['disconnects injected', counts.disconnects],
    ['crashes injected', `${counts.crashes} (404 after crash: ${counts.expected404})`],
    ['unexpected errors', counts.unexpected],
    ['children seen / left after shutdown', `${seen.size} / ${left.length}`],
    ['proxy RSS after warm-up', rssStart ? `${(rssStart / 1024).toFixed(1)} MiB` : '?'],
    ['proxy RSS at the end (idle)', rssEnd ? `${(rssEnd / 1024).toFixed(1)} MiB` : '?'],
    ['proxy RSS growth', growth === undefined ? '?' : `${(growth * 100).toFixed(1)} %`],
    ['proxy RSS peak', `${(peakRss / 1024).toFixed(1)} MiB`],
    ...(heapStart && heapEnd
      ? [
          ['heap used after GC: warm-up → end', `${(heapStart.heapUsed / 2 ** 20).toFixed(1)} → ${(heapEnd.heapUsed / 2 ** 20).toFixed(1)} MiB`],
          ['RSS after GC: warm-up → end', `${(heapStart.rss / 2 ** 20).toFixed(1)} → ${(heapEnd.rss / 2 ** 20).toFixed(1)} MiB`],
        ]
      : []),
    ['/ready at the end', `${ready.status} ${String(ready.body).slice(0, 120)}`],
    ['proxy exit', exit ? `code ${exit.code} signal ${exit.signal}` : 'killed'],
  ]
  for (const [name, value] of rows) console.log(`${name.padEnd(36)} ${value}`)
  for (const sample of samples) console.log(`  unexpected: ${sample}`)

  const missed = []
  if (counts.calls === 0) missed.push('no calls were made')
  if (counts.unexpected > 0) missed.push(`${counts.unexpected} unexpected errors`)
  if (left.length > 0) missed.push(`${left.length} children left: ${left.join(', ')}`)
  if (growth === undefined || growth > 0.1) missed.push(`RSS growth ${growth === undefined ? 'unknown' : `${(growth * 100).toFixed(1)} %`} (target ≤ 10 %)`)
  if (exit && exit.code !== 0) missed.push(`the proxy exited with code ${exit.code}${exit.signal ? ` (${exit.signal})` : ''}`)
  if (missed.length > 0) {
    console.log(`soak: FAILED: ${missed.join('; ')}`)
    if (exit?.code !== 0) console.log(proxy.output.join('').slice(-2000))
    process.exitCode = 1
  } else {
    console.log('soak: all targets met')
  }
}

main().catch((error) => {
  console.error(`soak: ${error?.stack ?? error}`)
  process.exitCode = 1
})
