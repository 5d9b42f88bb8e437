#!/usr/bin/env node
// Hostile soak of the proxy (`pnpm soak:hostile`; not part of the test suite, nothing is benchmarked). It
// starts the built CLI in front of fixtures/hostile-server.mjs and, for a bounded time, runs ordinary
// clients next to a "misbehaviour" client that keeps calling the fixture's hostile tools; then it stops the
// proxies and checks that nothing broke, nothing grew without bound and nothing was left behind.
//
//   node scripts/hostile-soak.mjs [--seconds 60] [--warmup 10] [--workers 20] [--seed N] [--max-rss-mib 512]
//   (each flag also as HOSTILE_SOAK_<NAME>, e.g. HOSTILE_SOAK_SECONDS=20; HOSTILE_SOAK_LOGS=DIR keeps
//   each proxy's whole log in DIR/proxy-A.log and DIR/proxy-B.log; HOSTILE_SOAK_CLI=FILE runs another
//   build of the CLI, e.g. an older one, against the same fixture)
//
// Two proxies, both `--port 0 --max-sessions 16 --max-line-length 4000000 --request-timeout 2000
// --session-idle-timeout 5000` (the short idle timeout reaps abandoned sessions, so the cap is not filled
// by them for 30 minutes) with the default stop grace (2 s per step) and one warm child:
//   A  the hostile fixture as is. 20 echo workers (initialize, 5-45 echo/add/ping calls, then DELETE 80 % of
//      the time, else abandon the session) keep more sessions wanted than the cap allows (503 is an
//      expected answer), and the misbehaviour worker runs most hostile actions here.
//   B  the fixture with FIXTURE_IGNORE_SIGTERM=1 and FIXTURE_GRANDCHILD=1: every child ignores SIGTERM and
//      stdin end (only SIGKILL stops it) and has a `sleep 300` in its process group from the start. Three
//      workers churn sessions on it (a few echo calls, then DELETE 60 % of the time, else abandon), and
//      ~30 % of the hostile actions land here. The environment of a child is the proxy's, so "half the
//      children ignore SIGTERM" needs a second proxy; that also keeps the two kinds of leftovers apart.
// The misbehaviour worker goes round these actions, each in a fresh session, then checks the session with
// an echo call and ends it (DELETE 70 %, abandon 30 %):
//   deep:<as>          deep {depth 10000|100000, as result|progress|notification|batch|request}: the call
//                      gets its result or a JSON-RPC error; the session may end (404 afterwards).
//   flood:post         flood 200 × 1 MB notifications/message, the POST stream read to its end: the call
//                      is answered or fails with a JSON-RPC error (at --request-timeout 2000 it times out).
//   flood:no-get       the same, but the client drops the POST after 100 ms and has no GET stream open, so
//                      the flood can only go to the session's bounded backlog; 3 s later a GET stream is
//                      read for 3 s (what it delivers is reported); then notifications/cancelled.
//   flood:stalled-get  a GET stream that is never read, then flood 100 × 1 MB with the POST dropped: the
//                      proxy should close the stalled stream (reported); then notifications/cancelled.
//   flood:abort        flood 1000 × 1 MB progress on the POST stream, the client disconnects after 300 ms
//                      and sends notifications/cancelled: the session must still answer an echo call.
//   flood:orphan       the same with 300 × 1 MB and no cancel (a disconnect is no cancel): the next call
//                      is answered or fails with a JSON-RPC timeout behind the flood.
//   grandchild         its `sleep 300` must be gone within 3 × stop-grace + 5 s of DELETE, or of the idle
//                      timeout for an abandoned session.
//   close-stdout       the call must get a JSON-RPC error (never a hang); the session may end.
//   huge:over          huge 8,000,000 chars (> --max-line-length): a JSON-RPC error, and the session works.
//   huge:under         huge 3,000,000 chars: the whole text arrives.
//   hang               a JSON-RPC error after --request-timeout, and the session works.
// Every HTTP request has a time bound, and so has the whole soak (a watchdog); only 127.0.0.1 is used.
// Expected errors are counted by kind: 503 at the cap; 404 for a session the proxy's own log says it
// evicted at the cap ("session cap reached", the idle-longest session gives way) — any other 404 for a
// session in use is unexpected; the JSON-RPC errors the actions above allow (kind from the message).
// A grandchild whose parent child is gone for longer than the stop ladder takes counts as a leak too.
//
// Processes are found through /proc every 250 ms by a marker in their environment
// (HOSTILE_SOAK_RUN=<run>-A|B, set on each proxy and inherited by its children and theirs), so children,
// `sleep 300` grandchildren and orphans are all counted, whoever their parent is now. Grandchild pids the
// fixture reports (tool answers, `grandchild pid=N` in the proxy's log of child stderr) are checked too.
//
// Bounds (exit 1 if one is broken): 0 unexpected errors; no proxy exit before shutdown (a crashed proxy is
// restarted, up to 5 times, so the rest of the run still says something); live children per proxy
// ≤ max-sessions + warm + 2; live grandchildren ≤ 4 on A, ≤ max-sessions + warm + 6 on B; 0 grandchildren
// alive after their session ended; every hostile action done at least once; proxy RSS peak ≤ --max-rss-mib
// (idle RSS at the end over max(1.5 × after warm-up, + 64 MiB) is only noted: after hundreds of MB of
// traffic the allocator keeps pages, so it is no leak signal on its own); after SIGTERM each proxy exits
// 0 within its graceful-shutdown timeout + 6 s; 0 processes left after shutdown (any left are then killed
// by pid, and listed). Output: a readable table, then one line of JSON.
//
// Builds nothing itself (the `soak:hostile` script runs `pnpm build` first); needs apps/server/dist/cli.js.
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, readdirSync } from 'node:fs'
import http from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MCP_HEADERS, createRandom, procStat, readProc, rssKiB, sleep } from './soak-lib.mjs'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const CLI = process.env.HOSTILE_SOAK_CLI || join(ROOT, 'apps/server/dist/cli.js')
const FIXTURE = join(ROOT, 'fixtures/hostile-server.mjs')

// ------------------------------------------------------------------------------------------------------
// Options.

const USAGE = 'usage: node scripts/hostile-soak.mjs [--seconds 60] [--warmup 10] [--workers 20] [--seed N] [--max-rss-mib 512]'

function parseArgs(argv) {
  const options = { seconds: 60, warmup: 10, workers: 20, seed: Date.now() % 1_000_000, 'max-rss-mib': 512 }
  for (const name of Object.keys(options)) {
    const value = process.env[`HOSTILE_SOAK_${name.toUpperCase().replaceAll('-', '_')}`]
    if (value !== undefined && value !== '') options[name] = Number(value)
  }
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]?.replace(/^--/, '')
    if (name === 'help' || name === 'h') {
      console.log(USAGE)
      process.exit(0)
    }
    if (!(name in options)) throw new Error(`unknown option ${argv[i]}\n${USAGE}`)
    options[name] = Number(argv[++i])
  }
  for (const [name, value] of Object.entries(options)) {
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number\n${USAGE}`)
  }
  return options
}
const options = parseArgs(process.argv.slice(2))

const MAX_SESSIONS = 16
const WARM_CHILDREN = 1
const STOP_GRACE_MS = 2000
const REQUEST_TIMEOUT_MS = 2000
const IDLE_TIMEOUT_MS = 5000
const MAX_LINE_LENGTH = 4_000_000
const GRACEFUL_TIMEOUT_MS = STOP_GRACE_MS * 3 + 3000
const IDLE_MS = 10_000 // quiet time before an RSS sample (V8's memory reducer acts ~8 s after load stops)
const RUN_TAG = `hostile-soak-${process.pid}-${Date.now()}`
const B_WORKERS = 3
const MAX_RESTARTS = 5

const { random, pick } = createRandom(options.seed)

// ------------------------------------------------------------------------------------------------------
// Tallies.

const counts = { sessionsOpened: 0, callsOk: 0, hostileOk: 0, unexpected: 0 }
const expected = new Map() // kind -> count
const unexpectedKinds = new Map() // kind -> count
const unexpectedSamples = []
const actionsDone = new Map() // hostile action -> count
const relayed = new Map() // e.g. 'deep:result relayed' -> count
const info = new Map() // observations that are neither ok nor errors

const bump = (map, key, by = 1) => map.set(key, (map.get(key) ?? 0) + by)
const expect = (kind) => bump(expected, kind)

function unexpected(kind, detail) {
  counts.unexpected++
  bump(unexpectedKinds, kind)
  // Up to 3 samples of each kind, 40 in all, so that rare kinds are not hidden by a frequent one.
  if (unexpectedKinds.get(kind) <= 3 && unexpectedSamples.length < 40) unexpectedSamples.push(`${kind}: ${String(detail).replace(/\s+/g, ' ').slice(0, 300)}`)
}

/** A short name for a JSON-RPC error message, to count expected errors by kind. */
function errorKind(error) {
  const message = String(error?.message ?? '').toLowerCase()
  if (/line limit|longer than|too long|maxlinelength/.test(message)) return 'line limit'
  if (/time(d)? ?out|no answer/.test(message)) return 'timeout'
  if (/deep|depth|nest/.test(message)) return 'too deep'
  if (/stdout/.test(message)) return 'stdout closed'
  if (/exit|ended|stopp|closed|crash|killed|gone/.test(message)) return 'child ended'
  if (/cancel/.test(message)) return 'cancelled'
  return `code ${error?.code}: ${message.slice(0, 60)}`
}

// ------------------------------------------------------------------------------------------------------
// The proxies.

class Proxy {
  constructor(name, env) {
    this.name = name
    this.env = env
    this.tag = `${RUN_TAG}-${name}`
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
    this.output = [] // the last log lines
    this.exits = [] // { code, signal, phase }
    this.restarts = 0
    this.reportedGrandchildren = new Set() // pids from `grandchild pid=N` in the child stderr it logs
    this.closedByProxy = new Map() // session id -> why the proxy closed it itself (from its log)
    this.rss = { peak: 0, afterWarmup: undefined, end: undefined }
    this.maxLive = { children: 0, grandchildren: 0, other: 0 }
    this.alive = false // the current proxy process runs
  }

  get pid() {
    return this.child?.pid
  }

  get down() {
    return !this.alive
  }

  async start() {
    const args = [
      CLI, '--host', '127.0.0.1', '--port', '0', '--log-format', 'json', '--drain-timeout', '0',
      '--max-sessions', String(MAX_SESSIONS), '--warm-children', String(WARM_CHILDREN),
      '--max-line-length', String(MAX_LINE_LENGTH), '--request-timeout', String(REQUEST_TIMEOUT_MS),
      '--session-idle-timeout', String(IDLE_TIMEOUT_MS), '--stop-grace', String(STOP_GRACE_MS),
      '--env', `HOSTILE_SOAK_RUN=${this.tag}`,
      '--', process.execPath, FIXTURE,
    ]
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...this.env, HOSTILE_SOAK_RUN: this.tag },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child = child
    this.baseUrl = undefined
    this.alive = true
    let partial = ''
    const logDir = process.env.HOSTILE_SOAK_LOGS
    if (logDir && !this.logFile) {
      mkdirSync(logDir, { recursive: true })
      this.logFile = createWriteStream(join(logDir, `proxy-${this.name}.log`))
    }
    const onData = (chunk) => {
      this.logFile?.write(chunk)
      const lines = (partial + chunk).split('\n')
      partial = lines.pop()
      if (partial.length > 100_000) partial = ''
      for (const line of lines) this.#logLine(line)
    }
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        const exit = { code, signal, phase }
        this.exits.push(exit)
        if (this.child === child) this.alive = false
        resolve(exit)
        if (phase !== 'shutdown' && phase !== 'done') void this.#crashed(exit)
      }),
    )
    const readyBy = Date.now() + 15_000
    while (!this.baseUrl) {
      if (this.down) throw new Error(`proxy ${this.name} exited at start:\n${this.output.join('\n')}`)
      if (Date.now() > readyBy) throw new Error(`proxy ${this.name} did not say its URL within 15 s:\n${this.output.join('\n')}`)
      await sleep(50)
    }
    for (;;) {
      const ok = await this.request('GET', '/ping', { timeoutMs: 2000 }).then((r) => r.status === 200, () => false)
      if (ok) break
      if (Date.now() > readyBy) throw new Error(`proxy ${this.name} did not answer /ping within 15 s`)
      await sleep(100)
    }
  }

  #logLine(line) {
    this.output.push(line.slice(0, 2000))
    if (this.output.length > 200) this.output.shift()
    const url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)
    if (url && !this.baseUrl) this.baseUrl = url[1]
    const grandchild = /grandchild pid=(\d+)/.exec(line)
    if (grandchild) this.reportedGrandchildren.add(Number(grandchild[1]))
    // Sessions the proxy closed on its own: evicted at the cap, reaped when idle.
    const why = /session cap reached/.test(line) ? 'evicted at the cap' : /session idle; reaped/.test(line) ? 'reaped as idle' : undefined
    if (why) {
      try {
        const { session } = JSON.parse(line)
        if (typeof session === 'string' && !this.closedByProxy.has(session)) this.closedByProxy.set(session, why)
      } catch {
        // not a JSON log line
      }
    }
  }

  /** Why the proxy closed session itself, if its log said so (waits a little for the log line). */
  async whyClosed(session) {
    for (let tries = 0; tries < 10 && !this.closedByProxy.has(session); tries++) await sleep(50)
    return this.closedByProxy.get(session)
  }

  async #crashed(exit) {
    unexpected(`proxy ${this.name} exited during the run`, `code ${exit.code} signal ${exit.signal}; last log: ${this.output.slice(-5).join(' | ')}`)
    if (this.restarts >= MAX_RESTARTS) return
    this.restarts++
    await sleep(500)
    if (phase === 'shutdown' || phase === 'done') return
    await this.start().catch((error) => unexpected(`proxy ${this.name} restart`, error?.message ?? error))
  }

  /** One HTTP request, bounded in time; answers are streamed (see readAnswer). */
  request(method, path, { headers = {}, body, timeoutMs = 15_000, abortAfterMs, streamForMs, stall } = {}) {
    return new Promise((resolve, reject) => {
      if (!this.baseUrl || this.down) {
        reject(new Error(`proxy ${this.name} is down`))
        return
      }
      const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))
      const started = Date.now()
      const request = http.request(`${this.baseUrl}${path}`, {
        method,
        agent: this.agent,
        headers: payload ? { ...headers, 'content-length': payload.length } : headers,
      })
      // Settles exactly once, whatever happens: answer read, client-side abort, time bound, connection lost
      // mid-answer (after a response has begun, Node reports that on the response, not the request).
      const timers = []
      let settled = false
      let reason
      const settle = (done, value) => {
        if (settled) return
        settled = true
        timers.forEach(clearTimeout)
        done(value)
      }
      const destroy = (message) => {
        reason = new Error(message)
        request.destroy(reason)
      }
      if (abortAfterMs !== undefined) timers.push(setTimeout(() => destroy('aborted by the soak client'), abortAfterMs))
      timers.push(setTimeout(() => destroy(`no answer within ${timeoutMs / 1000} s`), timeoutMs))
      request.once('error', (error) => settle(reject, reason ?? error))
      request.once('response', (response) => {
        response.once('error', () => {})
        if (stall) {
          // A client that never reads: the caller gets the response paused and ends it itself.
          response.pause()
          settle(resolve, { status: response.statusCode, headers: response.headers, request, response })
          return
        }
        const answer = readAnswer(response)
        if (streamForMs !== undefined) {
          // A GET stream: read it for a while, then leave.
          timers.push(setTimeout(() => {
            settle(resolve, answer.result({ elapsedMs: Date.now() - started, cut: true }))
            request.destroy()
          }, streamForMs))
        }
        response.once('end', () => settle(resolve, answer.result({ elapsedMs: Date.now() - started })))
        response.once('close', () => settle(reject, reason ?? new Error(`the connection closed before the answer ended (${Date.now() - started} ms)`)))
      })
      request.end(payload)
    })
  }
}

const MAX_PARSED_EVENT = 8 * 2 ** 20

/**
 * Reads an MCP answer as it streams: SSE events (or one JSON body) are parsed one at a time; responses and
 * requests are kept, notifications are only counted unless small, events over 8 MiB are counted unparsed.
 */
function readAnswer(response) {
  const type = String(response.headers['content-type'] ?? '')
  const sse = type.startsWith('text/event-stream')
  const state = { messages: [], notifications: 0, notificationBytes: 0, events: 0, bytes: 0, unparsed: 0, parseErrors: [], progressTokens: new Set() }
  let dataParts = []
  let dataLength = 0
  let lineParts = []
  let lineLength = 0
  let hasData = false
  const keep = (message, size) => {
    if (message && typeof message === 'object' && !Array.isArray(message) && message.method !== undefined && message.id === undefined) {
      state.notifications++
      state.notificationBytes += size
      if (message.method === 'notifications/progress') state.progressTokens.add(message.params?.progressToken)
      if (size < 65_536) state.messages.push(message)
    } else {
      state.messages.push(message)
    }
  }
  const dispatch = () => {
    if (!hasData) return
    state.events++
    if (dataLength > MAX_PARSED_EVENT) state.unparsed++
    else {
      const text = dataParts.join('\n')
      try {
        const value = JSON.parse(text)
        if (Array.isArray(value)) for (const item of value) keep(item, dataLength)
        else keep(value, dataLength)
      } catch (error) {
        state.parseErrors.push(`${error.message} in ${text.slice(0, 120)}`)
      }
    }
    dataParts = []
    dataLength = 0
    hasData = false
  }
  const line = () => {
    // Only data lines are joined; others are looked at by their start.
    const first = lineParts[0] ?? ''
    if (first.startsWith('data:')) {
      hasData = true
      if (dataLength + lineLength <= MAX_PARSED_EVENT) {
        const text = lineParts.join('')
        dataParts.push(text.slice(text.startsWith('data: ') ? 6 : 5).replace(/\r$/, ''))
      }
      dataLength += lineLength
    } else if (lineLength === 0 || (lineLength === 1 && first === '\r')) {
      dispatch()
    }
    lineParts = []
    lineLength = 0
  }
  const json = []
  let jsonLength = 0
  response.setEncoding('utf8')
  response.on('data', (chunk) => {
    state.bytes += chunk.length
    if (!sse) {
      if (jsonLength <= MAX_PARSED_EVENT) json.push(chunk)
      jsonLength += chunk.length
      return
    }
    let start = 0
    let newline
    while ((newline = chunk.indexOf('\n', start)) !== -1) {
      const piece = chunk.slice(start, newline)
      if (lineLength <= MAX_PARSED_EVENT) lineParts.push(piece)
      lineLength += piece.length
      line()
      start = newline + 1
    }
    const rest = chunk.slice(start)
    if (rest !== '') {
      if (lineLength <= MAX_PARSED_EVENT) lineParts.push(rest)
      lineLength += rest.length
    }
  })
  return {
    result: (extra) => {
      if (sse) {
        if (lineLength > 0) line()
        dispatch()
      } else if (jsonLength > 0) {
        if (jsonLength > MAX_PARSED_EVENT) state.unparsed++
        else {
          try {
            const value = JSON.parse(json.join(''))
            for (const item of Array.isArray(value) ? value : [value]) state.messages.push(item)
          } catch (error) {
            state.parseErrors.push(error.message)
          }
        }
      }
      return { status: response.statusCode, headers: response.headers, ...state, ...extra }
    },
  }
}

// ------------------------------------------------------------------------------------------------------
// Sessions and calls.

let lastId = 0
const nextId = () => ++lastId
const toolCall = (name, args, meta) => ({ jsonrpc: '2.0', id: nextId(), method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } })
const responseTo = (answer, id) => answer.messages.find((m) => m && m.id === id && m.method === undefined)
const short = (value) => JSON.stringify(value ?? null).slice(0, 200)

/**
 * A 404 for a session the client still used: expected when the proxy's log says it evicted the session at
 * the cap (the documented policy: the session idle longest gives way) or reaped it as idle while this
 * client was away (abandoned sessions only); unexpected otherwise.
 */
async function sessionGone(proxy, session, where, detail, { reapedIsExpected = false } = {}) {
  const why = await proxy.whyClosed(session)
  if (why === 'evicted at the cap' || (why === 'reaped as idle' && reapedIsExpected)) expect(`session ${why} (${proxy.name}): 404 afterwards`)
  else unexpected(`${where}: session gone (404)${why ? `, ${why}` : ''}`, `${session}: ${detail}`)
}

/** A new session on proxy, or undefined when the cap answered 503 (counted, expected). */
async function openSession(proxy, capabilities = {}) {
  const id = nextId()
  const answer = await proxy.request('POST', '/mcp', {
    headers: MCP_HEADERS,
    body: { jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities, clientInfo: { name: 'hostile-soak', version: '1' } } },
  })
  if (answer.status === 503) {
    expect(`session cap: 503 on initialize (${proxy.name})`)
    return undefined
  }
  const session = answer.headers['mcp-session-id']
  if (answer.status !== 200 || typeof session !== 'string' || !responseTo(answer, id)?.result) {
    throw new Error(`initialize: ${answer.status} ${short(answer.messages)} ${answer.parseErrors.join(' ')}`)
  }
  const done = await proxy.request('POST', '/mcp', {
    headers: { ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    body: { jsonrpc: '2.0', method: 'notifications/initialized' },
  })
  counts.sessionsOpened++
  if (done.status === 404) {
    await sessionGone(proxy, session, 'notifications/initialized', 'right after initialize')
    return undefined
  }
  if (done.status !== 202) throw new Error(`notifications/initialized: ${done.status}`)
  return session
}

/** Opens a session, waiting out the cap (503) for up to waitMs; undefined if it never got one. */
async function openSessionPatiently(proxy, stopAt, { capabilities, backoffMs = [250, 750], waitMs = 15_000 } = {}) {
  const giveUpAt = Math.min(stopAt, Date.now() + waitMs)
  while (Date.now() < giveUpAt) {
    const session = await openSession(proxy, capabilities)
    if (session) return session
    await sleep(backoffMs[0] + random() * (backoffMs[1] - backoffMs[0]))
  }
  return undefined
}

const sessionHeaders = (session) => ({ ...MCP_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' })

function post(proxy, session, message, options = {}) {
  return proxy.request('POST', '/mcp', { headers: sessionHeaders(session), body: message, ...options })
}

async function endSession(proxy, session, deleteShare) {
  if (random() >= deleteShare) {
    bump(info, `sessions abandoned without DELETE (${proxy.name})`)
    return 'abandoned'
  }
  const closed = await proxy.request('DELETE', '/mcp', { headers: { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }, timeoutMs: 20_000 })
  if (closed.status === 404) await sessionGone(proxy, session, 'DELETE', 'DELETE answered 404')
  else if (closed.status !== 200) unexpected(`DELETE status (${proxy.name})`, `${closed.status} ${short(closed.messages)}`)
  return 'deleted'
}

/**
 * An ordinary call with a checked answer: 'ok', 'gone' (404) or 'bad'. A JSON-RPC error whose kind (see
 * errorKind) is in expectedErrors is counted as expected, e.g. 'timeout' behind an orphaned flood.
 */
async function ordinaryCall(proxy, session, where, expectedErrors = []) {
  const kind = pick(['echo', 'echo', 'echo', 'add', 'ping'])
  let message
  let check
  if (kind === 'echo') {
    const text = `hostile-soak-${lastId}-${'é'.repeat(Math.floor(random() * 10))}`
    message = toolCall('echo', { text })
    check = (r) => r.result?.content?.[0]?.text === text
  } else if (kind === 'add') {
    const a = Math.floor(random() * 1000)
    const b = Math.floor(random() * 1000)
    message = toolCall('add', { a, b })
    check = (r) => r.result?.content?.[0]?.text === String(a + b)
  } else {
    message = { jsonrpc: '2.0', id: nextId(), method: 'ping' }
    check = (r) => r.result !== undefined && r.error === undefined
  }
  const answer = await post(proxy, session, message)
  if (answer.status === 404) return 'gone'
  // Ordinary calls carry no progressToken: progress here belongs to another request (e.g. an aborted flood).
  if (answer.progressTokens.size > 0) bump(info, `ordinary call streams carrying progress of another request (${proxy.name})`)
  const response = responseTo(answer, message.id)
  if (answer.status === 200 && response?.error && expectedErrors.includes(errorKind(response.error))) {
    expect(`${where}: JSON-RPC error (${errorKind(response.error)})`)
    return 'bad'
  }
  if (answer.status !== 200 || !response || !check(response)) {
    unexpected(`${where}: ${kind} answer`, `${answer.status} ${short(response ?? answer.messages)} ${answer.parseErrors.join(' ')}`)
    return 'bad'
  }
  counts.callsOk++
  return 'ok'
}

// ------------------------------------------------------------------------------------------------------
// Workers.

/** An ordinary client on proxy: sessions of a few calls, then DELETE or abandon. */
async function echoWorker(proxy, stopAt, { callsPerSession, deleteShare }) {
  while (Date.now() < stopAt) {
    let session
    try {
      session = await openSessionPatiently(proxy, stopAt)
      if (!session) continue
      const calls = callsPerSession[0] + Math.floor(random() * (callsPerSession[1] - callsPerSession[0]))
      let gone = false
      const openedAt = Date.now()
      let lastAnswerAt = openedAt
      for (let call = 0; call < calls && Date.now() < stopAt && !gone; call++) {
        const callAt = Date.now()
        const outcome = await ordinaryCall(proxy, session, `worker ${proxy.name}`)
        if (outcome === 'gone') {
          const now = Date.now()
          await sessionGone(
            proxy,
            session,
            `worker ${proxy.name}`,
            `call ${call + 1}, opened ${now - openedAt} ms ago, previous answer ${callAt - lastAnswerAt} ms before this call, which took ${now - callAt} ms`,
          )
          gone = true
        }
        lastAnswerAt = Date.now()
      }
      if (!gone) await endSession(proxy, session, deleteShare)
    } catch (error) {
      unexpected(`worker ${proxy.name}: request failed`, error?.message ?? error)
      await sleep(100 + random() * 200)
    }
  }
}

// Grandchildren whose session ended: checked once the proxy had time to stop the child's group.
const grandchildChecks = new Set()
const grandchildPids = new Map() // pid -> { proxy, starttime }
const leakedGrandchildren = new Set() // `${pid}:${starttime}` flagged as outliving their session or child
let grandchildrenSurvivingSession = 0
let grandchildrenOutlivingChild = 0
// Time the proxy has to stop a child and its group once it decided to: the three steps of the stop ladder.
const STOP_BOUND_MS = STOP_GRACE_MS * 3 + 5000

/** Checks, once the proxy had time to stop the session's child and its group, that pid is gone. */
function checkGrandchildLater(pid, ended) {
  const afterMs = STOP_BOUND_MS + (ended === 'abandoned' ? IDLE_TIMEOUT_MS : 0)
  const timer = setTimeout(() => {
    grandchildChecks.delete(timer)
    const known = grandchildPids.get(pid)
    const stat = procStat(pid)
    const key = `${pid}:${stat?.starttime}`
    if (stat && stat.state !== 'Z' && stat.starttime === known?.starttime && !leakedGrandchildren.has(key)) {
      leakedGrandchildren.add(key)
      grandchildrenSurvivingSession++
      unexpected('grandchild alive after its session ended', `sleep pid ${pid} (proxy ${known.proxy}) still running ${afterMs / 1000} s after the session was ${ended}`)
    }
  }, afterMs)
  grandchildChecks.add(timer)
}

const ACTIONS = [
  'deep:result', 'deep:progress', 'deep:notification', 'deep:batch', 'deep:request',
  'flood:post', 'flood:no-get', 'flood:stalled-get', 'flood:abort', 'flood:orphan',
  'grandchild', 'close-stdout', 'huge:over', 'huge:under', 'hang',
]

/** Thrown when a hostile call found its session gone (404); already counted by sessionGone. */
class SessionGone extends Error {}

/** A POST in a hostile session; a 404 is counted (evicted or not) and ends the action. */
async function hostilePost(proxy, session, message, action, options) {
  const answer = await post(proxy, session, message, options)
  if (answer.status === 404) {
    await sessionGone(proxy, session, action, `${message.params?.name ?? message.method} got 404`)
    throw new SessionGone()
  }
  if (answer.parseErrors.length > 0) unexpected(`${action}: unparseable event`, answer.parseErrors[0])
  return answer
}

const streamHeaders = (session) => ({ accept: 'text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' })

/**
 * After an action: an echo call in the same session, which must work, unless mayEnd (the child may be
 * ending: 404 or a "child ended" error) or behindFlood (a JSON-RPC timeout is fine).
 */
async function followUp(proxy, session, action, { mayEnd, behindFlood }) {
  const expectedErrors = [...(mayEnd ? ['stdout closed', 'child ended'] : []), ...(behindFlood ? ['timeout'] : [])]
  const outcome = await ordinaryCall(proxy, session, `after ${action}`, expectedErrors)
  if (outcome === 'gone') {
    if (mayEnd && !(await proxy.whyClosed(session))) expect(`${action}: session ended (404 afterwards)`)
    else await sessionGone(proxy, session, `after ${action}`, 'the next call got 404')
    return false
  }
  return outcome === 'ok'
}

/** A call that must end in a JSON-RPC error (never a result, never a hang). */
function expectRpcError(action, answer, id, elapsedBound) {
  const response = responseTo(answer, id)
  if (answer.status !== 200 || !response) {
    unexpected(`${action}: no JSON-RPC response`, `${answer.status} ${short(answer.messages)} ${answer.parseErrors.join(' ')}`)
  } else if (response.error) {
    expect(`${action}: JSON-RPC error (${errorKind(response.error)})`)
    if (elapsedBound && answer.elapsedMs > elapsedBound) unexpected(`${action}: error too late`, `${answer.elapsedMs} ms`)
  } else {
    unexpected(`${action}: answered with a result`, short(response.result).slice(0, 120))
  }
}

/** A flood of count × 1 MB notifications/message whose POST the client drops after 100 ms. */
async function abandonedFlood(proxy, session, action, count) {
  const message = toolCall('flood', { count, bytes: 1_000_000 })
  try {
    const answer = await post(proxy, session, message, { timeoutMs: 30_000, abortAfterMs: 100 })
    if (answer.status === 404) {
      await sessionGone(proxy, session, action, 'flood got 404')
      throw new SessionGone()
    }
    unexpected(`${action}: answered before the client left`, `${answer.status} ${short(responseTo(answer, message.id))}`)
  } catch (error) {
    if (!/aborted by the soak client/.test(String(error?.message))) throw error
  }
  return message
}

/** notifications/cancelled for requestId, as a client that wants a request stopped sends it. */
async function cancel(proxy, session, action, requestId) {
  const cancelled = await post(proxy, session, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'client left' } })
  if (cancelled.status === 404) {
    await sessionGone(proxy, session, action, 'notifications/cancelled got 404')
    throw new SessionGone()
  }
  if (cancelled.status !== 202) unexpected(`${action}: notifications/cancelled`, `${cancelled.status} ${short(cancelled.messages)}`)
}

function floodAnswer(action, answer, id, text) {
  const response = responseTo(answer, id)
  if (answer.status !== 200 || !response) unexpected(`${action}: no JSON-RPC response`, `${answer.status} ${short(answer.messages)}`)
  else if (response.error) expect(`${action}: JSON-RPC error (${errorKind(response.error)})`)
  else if (response.result?.content?.[0]?.text === text) counts.hostileOk++
  else unexpected(`${action}: wrong result`, short(response.result))
  bump(info, `${action}: notifications on the POST stream`, answer.notifications)
}

async function hostileAction(action, proxy, session) {
  const [tool, variant] = action.split(':')
  switch (tool) {
    case 'deep': {
      const depth = pick([10_000, 10_000, 100_000])
      const message = toolCall('deep', { depth, as: variant }, variant === 'progress' ? { progressToken: `deep-${lastId}` } : undefined)
      const answer = await hostilePost(proxy, session, message, action, { timeoutMs: 20_000 })
      const response = responseTo(answer, message.id)
      if (answer.status !== 200 || !response) unexpected(`${action}: no JSON-RPC response`, `${answer.status} ${short(answer.messages)}`)
      else if (response.error) expect(`${action}: JSON-RPC error (${errorKind(response.error)})`)
      else if (response.result?.content?.[0]?.text === `deep ${variant} ${depth}`) {
        counts.hostileOk++
        bump(relayed, `${action}: answered`)
        const deepSeen = answer.messages.some((m) => m?.result?.deep || m?.params?.deep || Array.isArray(m?.params?.data) || m?.params?.metadata?.deep)
        bump(relayed, `${action}: deep value ${deepSeen ? 'relayed to the client' : 'not on the POST stream'} (depth ${depth})`)
      } else unexpected(`${action}: wrong result`, short(response.result))
      return { mayEnd: true }
    }
    case 'flood': {
      if (variant === 'post') {
        // The POST stream stays open: the notifications go there; the call is answered, or times out.
        const message = toolCall('flood', { count: 200, bytes: 1_000_000 })
        const answer = await hostilePost(proxy, session, message, action, { timeoutMs: 90_000 })
        floodAnswer(action, answer, message.id, 'flooded 200x1000000')
        return { mayEnd: false }
      }
      if (variant === 'no-get') {
        // The caller drops its POST at once and no GET stream is open: the notifications have nowhere to
        // go but the session's bounded backlog. Then a GET stream collects what is left of them.
        const flood = await abandonedFlood(proxy, session, action, 200)
        await sleep(3000)
        const stream = await proxy.request('GET', '/mcp', { headers: streamHeaders(session), streamForMs: 3000, timeoutMs: 10_000 })
        if (stream.status === 404) {
          await sessionGone(proxy, session, `${action}: GET afterwards`, 'GET got 404')
          throw new SessionGone()
        }
        if (stream.status !== 200) unexpected(`${action}: GET afterwards`, `${stream.status}`)
        bump(info, 'flood:no-get: notifications delivered on the GET stream afterwards', stream.notifications)
        bump(info, 'flood:no-get: MB delivered on the GET stream afterwards', Math.round(stream.bytes / 1e6))
        await cancel(proxy, session, action, flood.id)
        return { mayEnd: false }
      }
      if (variant === 'stalled-get') {
        // A GET stream that is never read, and the POST dropped: the flood heads for the stalled stream.
        const stalled = await proxy.request('GET', '/mcp', { headers: streamHeaders(session), stall: true, timeoutMs: 10_000 })
        let closedByProxy = false
        stalled.response?.socket?.once('close', () => (closedByProxy = true))
        try {
          if (stalled.status === 404) {
            await sessionGone(proxy, session, `${action}: GET`, 'GET got 404')
            throw new SessionGone()
          }
          if (stalled.status !== 200) unexpected(`${action}: GET`, `${stalled.status}`)
          const flood = await abandonedFlood(proxy, session, action, 100)
          for (let waited = 0; waited < 5000 && !closedByProxy; waited += 100) await sleep(100)
          bump(info, closedByProxy ? 'flood:stalled-get: stalled GET closed by the proxy' : 'flood:stalled-get: stalled GET still open 5 s into the flood')
          await cancel(proxy, session, action, flood.id)
        } finally {
          stalled.request?.destroy()
        }
        return { mayEnd: false }
      }
      // abort / orphan: the client disconnects 300 ms into a flood of progress on its POST stream. After
      // abort it cancels the request (notifications/cancelled), so the next call must be answered; after
      // orphan it does not (a disconnect is no cancel), so the flood runs on (300 MB, kept within the
      // proxy's backlog bounds) and the next call may fail with a JSON-RPC timeout behind it.
      const count = variant === 'abort' ? 1000 : 300
      const message = toolCall('flood', { count, bytes: 1_000_000, method: 'notifications/progress' }, { progressToken: `flood-${lastId}` })
      try {
        const answer = await post(proxy, session, message, { timeoutMs: 30_000, abortAfterMs: 300 })
        if (answer.status === 404) {
          await sessionGone(proxy, session, action, 'flood got 404')
          throw new SessionGone()
        }
        unexpected(`${action}: answered before the abort`, `${answer.status} ${short(responseTo(answer, message.id))}`)
      } catch (error) {
        if (!/aborted by the soak client/.test(String(error?.message))) throw error
        expect(`${action}: client disconnected mid-flood`)
      }
      if (variant === 'abort') await cancel(proxy, session, action, message.id)
      return { mayEnd: false, behindFlood: variant === 'orphan' }
    }
    case 'grandchild': {
      const message = toolCall('grandchild', {})
      const answer = await hostilePost(proxy, session, message, action)
      const text = responseTo(answer, message.id)?.result?.content?.[0]?.text
      let pid
      try {
        pid = JSON.parse(text).pid
      } catch {
        unexpected(`${action}: answer`, `${answer.status} ${short(answer.messages)}`)
        return { mayEnd: false }
      }
      grandchildPids.set(pid, { proxy: proxy.name, starttime: procStat(pid)?.starttime })
      counts.hostileOk++
      return { mayEnd: false, grandchild: pid }
    }
    case 'close-stdout': {
      const message = toolCall('close-stdout', {})
      const answer = await hostilePost(proxy, session, message, action, { timeoutMs: 20_000 })
      expectRpcError(action, answer, message.id, REQUEST_TIMEOUT_MS + 5000)
      return { mayEnd: true }
    }
    case 'huge': {
      const chars = variant === 'over' ? 8_000_000 : 3_000_000
      const message = toolCall('huge', { chars })
      const answer = await hostilePost(proxy, session, message, action, { timeoutMs: 30_000 })
      if (variant === 'over') {
        expectRpcError(action, answer, message.id)
        return { mayEnd: false }
      }
      const response = responseTo(answer, message.id)
      if (answer.status === 200 && response?.result?.content?.[0]?.text?.length === chars) counts.hostileOk++
      else unexpected(`${action}: ${chars} chars did not arrive`, `${answer.status} ${short(response?.error ?? answer.messages).slice(0, 200)} unparsed=${answer.unparsed}`)
      return { mayEnd: false }
    }
    case 'hang': {
      const message = toolCall('hang', {})
      const answer = await hostilePost(proxy, session, message, action, { timeoutMs: 15_000 })
      expectRpcError(action, answer, message.id, REQUEST_TIMEOUT_MS + 5000)
      return { mayEnd: false }
    }
    default:
      throw new Error(`unknown action ${action}`)
  }
}

let actionIndex = Math.floor(random() * ACTIONS.length)

async function misbehaviourWorker(proxies, stopAt) {
  while (Date.now() < stopAt) {
    const action = ACTIONS[actionIndex++ % ACTIONS.length]
    const proxy = random() < 0.3 ? proxies.B : proxies.A
    const where = `${action} (${proxy.name})`
    let session
    try {
      session = await openSessionPatiently(proxy, stopAt, { capabilities: { sampling: {} }, backoffMs: [10, 40], waitMs: 20_000 })
      if (!session) {
        bump(info, `hostile actions skipped: no session slot within 20 s`)
        continue
      }
      bump(actionsDone, action)
      const { mayEnd, behindFlood, grandchild } = await hostileAction(action, proxy, session)
      const alive = await followUp(proxy, session, where, { mayEnd, behindFlood })
      const ended = alive ? await endSession(proxy, session, 0.7) : 'gone'
      if (grandchild !== undefined) checkGrandchildLater(grandchild, ended)
    } catch (error) {
      if (error instanceof SessionGone) continue
      unexpected(`${where}: request failed`, error?.message ?? error)
      await sleep(100)
    }
  }
}

async function load(proxies, seconds) {
  const stopAt = Date.now() + seconds * 1000
  await Promise.all([
    ...Array.from({ length: options.workers }, () => echoWorker(proxies.A, stopAt, { callsPerSession: [5, 45], deleteShare: 0.8 })),
    ...Array.from({ length: B_WORKERS }, () => echoWorker(proxies.B, stopAt, { callsPerSession: [2, 10], deleteShare: 0.6 })),
    misbehaviourWorker(proxies, stopAt),
  ])
}

// ------------------------------------------------------------------------------------------------------
// Processes: everything carrying the run's marker in its environment.

const markerOf = new Map() // `${pid}:${starttime}` -> 'A' | 'B' | null (not ours): the environment stays
const seenProcesses = new Map() // key -> { pid, proxy, kind }

// The kind is read again on every scan: between fork and exec a process still shows its parent's command
// line (a fixture about to become `sleep 300` looks like a fixture).
function classify(pid, stat) {
  const key = `${pid}:${stat.starttime}`
  let proxy = markerOf.get(key)
  if (proxy === undefined) {
    const environ = readProc(pid, 'environ')
    proxy = (environ && new RegExp(`(?:^|\\0)HOSTILE_SOAK_RUN=${RUN_TAG}-([AB])(?:\\0|$)`).exec(environ)?.[1]) || null
    markerOf.set(key, proxy)
  }
  if (!proxy) return null
  const cmdline = (readProc(pid, 'cmdline') ?? '').split('\0')
  // The proxy's own command line names the fixture too (after --).
  const isProxy = (args) => args.some((arg) => arg.endsWith('cli.js'))
  const isFixture = (args) => !isProxy(args) && args.some((arg) => arg.endsWith('hostile-server.mjs'))
  const kind = isProxy(cmdline)
    ? 'proxy'
    : isFixture(cmdline)
      ? isFixture((readProc(stat.ppid, 'cmdline') ?? '').split('\0'))
        ? 'other' // a fixture's fork that has not exec'd `sleep` yet
        : 'child'
      : cmdline[0]?.endsWith('sleep') && cmdline[1] === '300'
        ? 'grandchild'
        : 'other' // e.g. a fork of the proxy between fork and exec
  return { proxy, kind }
}

const orphanSince = new Map() // `${pid}:${starttime}` of a grandchild whose parent is no child of ours -> ms

/**
 * Our live processes now, by proxy and kind (proxies themselves excluded). While the run lasts, a
 * grandchild whose parent child is gone (an orphan: the proxy stopped or lost the child but not its
 * process group) for longer than the stop ladder takes is counted as a leak.
 */
function scanProcesses() {
  const live = { A: { child: [], grandchild: [], other: [] }, B: { child: [], grandchild: [], other: [] } }
  const grandchildren = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = procStat(entry)
    if (!stat || stat.state === 'Z') continue
    const found = classify(entry, stat)
    if (!found || found.kind === 'proxy') continue
    live[found.proxy][found.kind].push(Number(entry))
    const key = `${entry}:${stat.starttime}`
    seenProcesses.set(key, { pid: Number(entry), ...found })
    if (found.kind === 'grandchild') grandchildren.push({ key, pid: Number(entry), ppid: stat.ppid, proxy: found.proxy })
  }
  if (phase === 'shutdown' || phase === 'done') return live
  const children = new Set([...live.A.child, ...live.B.child])
  const now = Date.now()
  for (const { key, pid, ppid, proxy } of grandchildren) {
    if (children.has(ppid)) continue
    const since = orphanSince.get(key) ?? now
    orphanSince.set(key, since)
    if (now - since > STOP_BOUND_MS && !leakedGrandchildren.has(key)) {
      leakedGrandchildren.add(key)
      grandchildrenOutlivingChild++
      unexpected('grandchild outlived its child', `sleep pid ${pid} (proxy ${proxy}) orphaned for ${((now - since) / 1000).toFixed(1)} s`)
    }
  }
  return live
}

// ------------------------------------------------------------------------------------------------------
// Main.

let phase = 'start'
const proxies = {
  A: new Proxy('A', {}),
  B: new Proxy('B', { FIXTURE_IGNORE_SIGTERM: '1', FIXTURE_GRANDCHILD: '1' }),
}

/** On an interrupt or a failure of the soak itself: SIGKILL the proxies and everything of ours, by pid. */
function killEverything() {
  phase = 'done'
  for (const proxy of Object.values(proxies)) if (proxy.alive) proxy.child.kill('SIGKILL')
  const live = scanProcesses()
  for (const pid of [...Object.values(live.A).flat(), ...Object.values(live.B).flat()]) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
}

async function main() {
  if (!existsSync(CLI)) throw new Error(`${CLI} is not built: run pnpm build first`)
  const interrupted = () => {
    killEverything()
    process.exit(130)
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  // The soak itself is bounded too: load + idle + every per-request bound + shutdown, with room to spare.
  const watchdogMs = (options.warmup + options.seconds) * 1000 + 2 * IDLE_MS + 180_000
  setTimeout(() => {
    console.log(`hostile-soak: FAILED: the soak itself did not finish within ${watchdogMs / 1000} s (phase ${phase}); killing everything`)
    killEverything()
    process.exit(1)
  }, watchdogMs).unref()

  await Promise.all([proxies.A.start(), proxies.B.start()])
  console.log(`hostile-soak: proxy A pid ${proxies.A.pid} on ${proxies.A.baseUrl} (hostile fixture)`)
  console.log(`hostile-soak: proxy B pid ${proxies.B.pid} on ${proxies.B.baseUrl} (FIXTURE_IGNORE_SIGTERM=1 FIXTURE_GRANDCHILD=1)`)
  console.log(`hostile-soak: ${options.workers} workers on A, ${B_WORKERS} on B, 1 misbehaviour worker; ${options.seconds} s (+${options.warmup} s warm-up, 2 × ${IDLE_MS / 1000} s idle); seed ${options.seed}`)

  const sampler = setInterval(() => {
    const live = scanProcesses()
    for (const proxy of Object.values(proxies)) {
      const mine = live[proxy.name]
      proxy.maxLive.children = Math.max(proxy.maxLive.children, mine.child.length)
      proxy.maxLive.grandchildren = Math.max(proxy.maxLive.grandchildren, mine.grandchild.length)
      proxy.maxLive.other = Math.max(proxy.maxLive.other, mine.other.length)
      if (!proxy.down && proxy.pid) proxy.rss.peak = Math.max(proxy.rss.peak, rssKiB(proxy.pid) ?? 0)
    }
  }, 250)

  phase = 'warm-up'
  await load(proxies, options.warmup)
  phase = 'idle'
  await sleep(IDLE_MS)
  for (const proxy of Object.values(proxies)) proxy.rss.afterWarmup = rssKiB(proxy.pid)

  phase = 'load'
  const started = Date.now()
  await load(proxies, options.seconds)
  const elapsed = (Date.now() - started) / 1000
  phase = 'idle'
  await sleep(IDLE_MS)
  const ready = {}
  for (const proxy of Object.values(proxies)) {
    proxy.rss.end = rssKiB(proxy.pid)
    ready[proxy.name] = await proxy.request('GET', '/ready', { timeoutMs: 5000 }).then(
      (r) => `${r.status} ${r.messages.length ? short(r.messages[0]) : ''}`,
      (error) => `failed: ${error.message}`,
    )
  }

  // Shutdown: SIGTERM to both, each must exit 0 within its graceful-shutdown timeout (+6 s).
  phase = 'shutdown'
  for (const timer of grandchildChecks) clearTimeout(timer)
  const liveBefore = scanProcesses()
  clearInterval(sampler)
  const shutdownExits = {}
  await Promise.all(
    Object.values(proxies).map(async (proxy) => {
      proxy.agent.destroy()
      if (proxy.down) {
        shutdownExits[proxy.name] = { code: null, signal: null, note: 'already down' }
        return
      }
      const shutdownStarted = Date.now()
      proxy.child.kill('SIGTERM')
      const exit = await Promise.race([proxy.exited, sleep(GRACEFUL_TIMEOUT_MS + 6000).then(() => undefined)])
      if (!exit) {
        proxy.child.kill('SIGKILL')
        await proxy.exited
        shutdownExits[proxy.name] = { code: null, signal: 'SIGKILL', note: `no exit within ${(GRACEFUL_TIMEOUT_MS + 6000) / 1000} s of SIGTERM` }
      } else {
        shutdownExits[proxy.name] = { code: exit.code, signal: exit.signal, ms: Date.now() - shutdownStarted }
      }
    }),
  )
  phase = 'done'
  await sleep(1000)

  // Left behind: anything alive with the marker, every process seen, every grandchild pid reported.
  const leftAfter = scanProcesses()
  const left = []
  for (const name of ['A', 'B']) {
    for (const kind of ['child', 'grandchild', 'other']) for (const pid of leftAfter[name][kind]) left.push({ pid, proxy: name, kind })
  }
  const reported = new Map([...grandchildPids.entries()].map(([pid, known]) => [pid, known.proxy]))
  for (const proxy of Object.values(proxies)) for (const pid of proxy.reportedGrandchildren) if (!reported.has(pid)) reported.set(pid, proxy.name)
  for (const [pid, name] of reported) {
    const cmdline = readProc(pid, 'cmdline') ?? ''
    if (procStat(pid)?.state !== 'Z' && cmdline.startsWith('sleep\u0000300') && !left.some((entry) => entry.pid === pid)) {
      left.push({ pid, proxy: name, kind: 'grandchild (reported)' })
    }
  }
  for (const { pid } of left) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }

  // ----------------------------------------------------------------------------------------------------
  // Report.
  const mib = (kib) => (kib ? `${(kib / 1024).toFixed(1)} MiB` : '?')
  const childBound = MAX_SESSIONS + WARM_CHILDREN + 2
  const grandchildBound = { A: 4, B: MAX_SESSIONS + WARM_CHILDREN + 6 }
  const seenByKind = (name, kind) => [...seenProcesses.values()].filter((p) => p.proxy === name && p.kind === kind).length
  const missed = []
  const notes = []
  if (counts.callsOk === 0) missed.push('no calls were answered')
  if (counts.unexpected > 0) missed.push(`${counts.unexpected} unexpected errors`)
  for (const proxy of Object.values(proxies)) {
    const crashes = proxy.exits.filter((exit) => exit.phase !== 'shutdown' && exit.phase !== 'done')
    if (crashes.length > 0) missed.push(`proxy ${proxy.name} exited ${crashes.length}× during the run (${crashes.map((e) => `code ${e.code} signal ${e.signal} in ${e.phase}`).join(', ')})`)
    if (proxy.maxLive.children > childBound) missed.push(`proxy ${proxy.name}: ${proxy.maxLive.children} live children at once (bound ${childBound})`)
    if (proxy.maxLive.grandchildren > grandchildBound[proxy.name]) missed.push(`proxy ${proxy.name}: ${proxy.maxLive.grandchildren} live grandchildren at once (bound ${grandchildBound[proxy.name]})`)
    if (proxy.rss.peak > options['max-rss-mib'] * 1024) missed.push(`proxy ${proxy.name}: RSS peak ${mib(proxy.rss.peak)} (bound ${options['max-rss-mib']} MiB)`)
    const { afterWarmup, end } = proxy.rss
    if (!afterWarmup || !end) missed.push(`proxy ${proxy.name}: RSS unknown (down when sampled)`)
    // Not a bound: after hundreds of MB of traffic the allocator keeps pages, so idle RSS says little.
    else if (end > Math.max(afterWarmup * 1.5, afterWarmup + 64 * 1024)) notes.push(`proxy ${proxy.name}: idle RSS ${mib(afterWarmup)} after warm-up → ${mib(end)} at the end (a note, not a bound)`)
    const exit = shutdownExits[proxy.name]
    if (exit.code !== 0) missed.push(`proxy ${proxy.name} shutdown: ${exit.note ?? `exit code ${exit.code} signal ${exit.signal}`}`)
  }
  const notDone = ACTIONS.filter((action) => !actionsDone.has(action))
  if (notDone.length > 0) missed.push(`hostile actions never done: ${notDone.join(', ')}`)
  if (left.length > 0) missed.push(`${left.length} processes left after shutdown (killed now): ${left.map((p) => `${p.pid} ${p.kind} of ${p.proxy}`).join(', ')}`)

  const rows = [
    ['duration (measured part)', `${elapsed.toFixed(1)} s (+${options.warmup} s warm-up)`],
    ['sessions opened', counts.sessionsOpened],
    ['ordinary calls ok', counts.callsOk],
    ['hostile calls answered as asked', counts.hostileOk],
    ['hostile actions done', [...actionsDone].map(([action, n]) => `${action} ${n}`).join(', ')],
    ['expected errors', [...expected.values()].reduce((a, b) => a + b, 0)],
    ['unexpected errors', counts.unexpected],
    ['grandchildren alive after their session', grandchildrenSurvivingSession],
    ['grandchildren outliving their child', grandchildrenOutlivingChild],
  ]
  for (const proxy of Object.values(proxies)) {
    const crashes = proxy.exits.filter((exit) => exit.phase !== 'shutdown' && exit.phase !== 'done').length
    const exit = shutdownExits[proxy.name]
    rows.push(
      [`proxy ${proxy.name}: exits during run / restarts`, `${crashes} / ${proxy.restarts}`],
      [`proxy ${proxy.name}: RSS after warm-up / peak / end`, `${mib(proxy.rss.afterWarmup)} / ${mib(proxy.rss.peak)} / ${mib(proxy.rss.end)}`],
      [`proxy ${proxy.name}: max live children / grandchildren`, `${proxy.maxLive.children} (bound ${childBound}) / ${proxy.maxLive.grandchildren} (bound ${grandchildBound[proxy.name]})`],
      [`proxy ${proxy.name}: children / grandchildren seen`, `${seenByKind(proxy.name, 'child')} / ${seenByKind(proxy.name, 'grandchild')}`],
      [`proxy ${proxy.name}: live before shutdown`, `${liveBefore[proxy.name].child.length} children, ${liveBefore[proxy.name].grandchild.length} grandchildren`],
      [`proxy ${proxy.name}: /ready at the end`, ready[proxy.name]],
      [`proxy ${proxy.name}: shutdown`, exit.note ?? `exit code ${exit.code} signal ${exit.signal} after ${exit.ms} ms`],
    )
  }
  rows.push(['grandchild pids reported by the fixture', reported.size])
  rows.push(['processes left after shutdown', left.length === 0 ? 0 : `${left.length}: ${left.map((p) => `${p.pid} (${p.kind}, ${p.proxy})`).join(', ')}`])
  console.log('')
  for (const [name, value] of rows) console.log(`${String(name).padEnd(46)} ${value}`)
  const section = (title, map) => {
    if (map.size === 0) return
    console.log(`\n${title}`)
    for (const [kind, n] of [...map].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(6)}  ${kind}`)
  }
  section('expected errors by kind', expected)
  section('hostile answers relayed', relayed)
  section('observations', info)
  section('unexpected errors by kind', unexpectedKinds)
  for (const sample of unexpectedSamples) console.log(`  unexpected: ${sample}`)
  for (const proxy of Object.values(proxies)) {
    if (proxy.exits.some((exit) => exit.phase !== 'shutdown' && exit.phase !== 'done') || shutdownExits[proxy.name].code !== 0) {
      console.log(`\nproxy ${proxy.name}: last log lines`)
      for (const line of proxy.output.slice(-15)) console.log(`  ${line.slice(0, 400)}`)
    }
  }
  for (const note of notes) console.log(`\nnote: ${note}`)
  console.log(missed.length > 0 ? `\nhostile-soak: FAILED: ${missed.join('; ')}` : '\nhostile-soak: all bounds held')

  const summary = {
    ok: missed.length === 0,
    seconds: options.seconds,
    warmup: options.warmup,
    seed: options.seed,
    sessionsOpened: counts.sessionsOpened,
    callsOk: counts.callsOk,
    hostileOk: counts.hostileOk,
    actions: Object.fromEntries(actionsDone),
    expectedErrors: Object.fromEntries(expected),
    unexpectedErrors: counts.unexpected,
    unexpectedByKind: Object.fromEntries(unexpectedKinds),
    grandchildrenSurvivingSession,
    grandchildrenOutlivingChild,
    proxies: Object.fromEntries(
      Object.values(proxies).map((proxy) => [
        proxy.name,
        {
          exitsDuringRun: proxy.exits.filter((exit) => exit.phase !== 'shutdown' && exit.phase !== 'done').length,
          restarts: proxy.restarts,
          rssKiB: proxy.rss,
          maxLive: proxy.maxLive,
          shutdown: shutdownExits[proxy.name],
        },
      ]),
    ),
    left: left.map(({ pid, kind, proxy }) => ({ pid, kind, proxy })),
    failures: missed,
    notes,
  }
  console.log(JSON.stringify(summary))
  // Leave even if a stalled socket or a timer is still around; after stdout drained.
  process.stdout.write('', () => process.exit(missed.length > 0 ? 1 : 0))
}

main().catch((error) => {
  console.error(`hostile-soak: ${error?.stack ?? error}`)
  killEverything()
  process.exit(1)
})
