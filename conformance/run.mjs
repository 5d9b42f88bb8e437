#!/usr/bin/env node
/* global AbortSignal */
/**
 * Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server leg,
 * `--requirements 2025-11-25`) against the proxy CLI fronting fixtures/conformance-server.mjs.
 *
 * For each mode (per-session, stateless, api-key) it starts the proxy on a free loopback port
 * with the system Node, waits for GET /ping, runs the suite with the Node 22 from this
 * package's `node` dependency (the suite needs Node >= 22), stops the proxy (SIGTERM, SIGKILL
 * after 5 s, then any child it left behind), and reads the per-scenario checks.json files.
 * It ends with one line, `N passed, M failed`, counting the scored checks of every mode, and
 * exits non-zero when any mode failed to run, the suite exited non-zero, or a scored check
 * failed without an entry in expected-failures.yml.
 *
 * Usage: node conformance/run.mjs [--mode per-session|stateless|api-key]... [--proxy-cmd TEMPLATE]
 *          [--timeout MS] [--out-dir DIR] [--verbose]
 * The proxy command template (also CONFORMANCE_PROXY_CMD) is split on spaces; `{port}` is
 * replaced, and the whole-word tokens `{stateless}` and `{apiKey}` become `--stateless` and
 * `--api-key <key>` in the modes that need them and vanish otherwise. A leading `node` is the
 * system Node. See conformance/README.md.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '..')
const REQUIREMENTS = '2025-11-25'
const EXPECTED_FAILURES = join(HERE, 'expected-failures.yml')
/** Where the totals go for CI's one-line summary (scripts/test-summary.mjs). */
const REPORTS = join(HERE, '..', 'reports')
const DEFAULT_PROXY_CMD =
  'node apps/server/dist/cli.js --host 127.0.0.1 --port {port} {stateless} {apiKey} --quiet -- node fixtures/conformance-server.mjs'
const READY_TIMEOUT_MS = 15_000
const STOP_GRACE_MS = 5_000
const SUITE_TIMEOUT_MS = 120_000 // one mode normally takes 3-10 s

const MODES = [
  { name: 'per-session', summary: 'one child per MCP session (default flags)' },
  { name: 'stateless', summary: '--stateless: no sessions, requests share the proxy-managed child', stateless: true },
  {
    name: 'api-key',
    summary: '--api-key: every request must carry the key',
    apiKey: true,
    // The suite's `server` command has no option for extra request headers (checked in
    // 0.2.0-alpha.12: --url, --scenario, --suite, --expected-failures, --output-dir,
    // --spec-version, --force, --requirements, --timeout, --verbose), and the key must not go in
    // the URL. Remove this once the suite can send a header, and pass the key with it.
    skip: `the conformance suite has no option to send a request header, so it cannot present the API key`,
  },
]

// ---------------------------------------------------------------------------------------------
// Options

const { values: opts } = parseArgs({
  options: {
    mode: { type: 'string', multiple: true },
    'proxy-cmd': { type: 'string' },
    timeout: { type: 'string', default: '15000' },
    'out-dir': { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})
if (opts.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0] + '*/\n')
  process.exit(0)
}
const selectedModes = opts.mode ?? MODES.map((mode) => mode.name)
for (const name of selectedModes) {
  if (!MODES.some((mode) => mode.name === name)) fatal(`unknown --mode ${name} (known: ${MODES.map((m) => m.name).join(', ')})`)
}
if (!/^\d+$/.test(opts.timeout)) fatal(`--timeout takes milliseconds, got ${opts.timeout}`)
const proxyTemplate = opts['proxy-cmd'] ?? process.env.CONFORMANCE_PROXY_CMD ?? DEFAULT_PROXY_CMD
const colour = process.stdout.isTTY === true

function fatal(message) {
  process.stderr.write(`conformance: ${message}\n`)
  process.exit(2)
}
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g')
const stripAnsi = (text) => text.replace(ANSI, '')
const say = (line = '') => process.stdout.write(`${line}\n`)

// ---------------------------------------------------------------------------------------------
// The suite, its Node, and the system Node

const suiteDir = join(HERE, 'node_modules', '@modelcontextprotocol', 'conformance')
const suitePkgPath = join(suiteDir, 'package.json')
if (!existsSync(suitePkgPath)) fatal(`${suiteDir} is missing; run pnpm install`)
const suitePkg = JSON.parse(readFileSync(suitePkgPath, 'utf8'))
const suiteBin = typeof suitePkg.bin === 'string' ? suitePkg.bin : suitePkg.bin.conformance
const suiteEntry = join(suiteDir, suiteBin)
// The suite's own YAML parser reads the requirement set and our baseline the way the suite does.
const suiteRequire = createRequire(realpathSync(suitePkgPath))
const YAML = suiteRequire('yaml')

const node22 = [join(HERE, 'node_modules', 'node', 'bin', 'node'), join(HERE, 'node_modules', '.bin', 'node')].find(
  (candidate) => existsSync(candidate),
)
if (!node22) fatal('Node 22 (the `node` package in conformance/) is missing; run pnpm install')

// `pnpm --filter conformance` puts conformance/node_modules/.bin (Node 22) first on PATH; the
// proxy must run on the system Node, so drop that entry for the proxy and look `node` up again.
const localBin = join(HERE, 'node_modules', '.bin')
const proxyPath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((entry) => entry && resolve(entry) !== localBin)
  .join(delimiter)
const systemNode =
  proxyPath
    .split(delimiter)
    .map((entry) => join(entry, 'node'))
    .find((candidate) => existsSync(candidate)) ?? process.execPath
// MCP_PROXY_* variables set options of our CLI; the modes decide those, so none leak in.
const proxyEnv = Object.fromEntries(
  Object.entries({ ...process.env, PATH: proxyPath }).filter(([name]) => !name.startsWith('MCP_PROXY_')),
)

const requirementSet = YAML.parse(readFileSync(join(suiteDir, 'requirements', `${REQUIREMENTS}.yaml`), 'utf8'))
const scored = new Set(requirementSet.server)
const notScored = new Map(
  (requirementSet.not_scored ?? []).filter((entry) => entry.leg === 'server').map((entry) => [entry.scenario, entry.reason]),
)

/**
 * The baseline for one mode: the file's `server` list plus its `modes.<mode>` list (a key the
 * suite ignores, so the file still works with the suite on its own). Written to the mode's
 * output directory in the suite's format, so a mode-specific entry never masks another mode.
 */
function baselineFor(mode, modeDir) {
  const parsed = YAML.parse(readFileSync(EXPECTED_FAILURES, 'utf8')) ?? {}
  const entries = [...(parsed.server ?? []), ...(parsed.modes?.[mode.name] ?? [])].map(String)
  const file = join(modeDir, 'expected-failures.yml')
  writeFileSync(file, YAML.stringify({ server: entries }))
  return {
    file,
    entries,
    covers: (scenario, checkId) => entries.includes(scenario) || entries.includes(`${scenario}:${checkId}`),
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

const live = new Set() // children to stop if we are interrupted
let interrupted = false

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolvePort(port))
    })
  })
}

function tokenize(template) {
  return [...template.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3])
}

function proxyArgv(mode, port, apiKey) {
  const tokens = tokenize(proxyTemplate)
  if (!tokens.some((token) => token.includes('{port}'))) fatal('the proxy command template needs {port}')
  const argv = tokens.flatMap((token) => {
    if (token === '{stateless}') return mode.stateless ? ['--stateless'] : []
    if (token === '{apiKey}') return mode.apiKey ? ['--api-key', apiKey] : []
    return [token.replaceAll('{port}', String(port))]
  })
  if (argv[0] === 'node') argv[0] = systemNode
  return argv
}

/** Which flags a mode needs that the template cannot express. */
function missingPlaceholders(mode) {
  const tokens = tokenize(proxyTemplate)
  const missing = []
  if (mode.stateless && !tokens.includes('{stateless}')) missing.push('{stateless}')
  if (mode.apiKey && !tokens.includes('{apiKey}')) missing.push('{apiKey}')
  return missing
}

const exited = (child) => child.exitCode !== null || child.signalCode !== null

function waitExit(child, ms) {
  if (exited(child)) return Promise.resolve(true)
  return new Promise((resolveWait) => {
    const timer = setTimeout(() => resolveWait(false), ms)
    child.once('exit', () => {
      clearTimeout(timer)
      resolveWait(true)
    })
  })
}

/** Process table from /proc (Linux): pid → { ppid, start }. Empty elsewhere. */
function processTable() {
  const table = new Map()
  let entries
  try {
    entries = readdirSync('/proc')
  } catch {
    return table
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      table.set(Number(entry), { ppid: Number(fields[1]), start: fields[19] })
    } catch {
      // exited while we looked
    }
  }
  return table
}

function descendants(pid) {
  const table = processTable()
  const found = []
  const queue = [pid]
  while (queue.length > 0) {
    const parent = queue.shift()
    for (const [child, info] of table) {
      if (info.ppid === parent) {
        found.push({ pid: child, start: info.start })
        queue.push(child)
      }
    }
  }
  return found
}

const stillRunning = (proc) => processTable().get(proc.pid)?.start === proc.start

function signal(pid, sig) {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}

/**
 * SIGTERM to the proxy (so it runs its own shutdown), SIGKILL to its process group after 5 s,
 * then SIGKILL for any descendant it left running. Returns the pids it had to clean up after.
 */
async function stopProxy(child) {
  const family = descendants(child.pid)
  if (!exited(child)) {
    signal(child.pid, 'SIGTERM')
    if (!(await waitExit(child, STOP_GRACE_MS))) {
      signal(-child.pid, 'SIGKILL')
      signal(child.pid, 'SIGKILL')
      await waitExit(child, 2_000)
    }
  }
  live.delete(child)
  await new Promise((done) => setTimeout(done, 300))
  const leftovers = family.filter(stillRunning)
  for (const proc of leftovers) signal(proc.pid, 'SIGKILL')
  return leftovers.map((proc) => proc.pid)
}

async function stopChild(child) {
  if (exited(child)) return
  signal(child.pid, 'SIGTERM')
  if (!(await waitExit(child, STOP_GRACE_MS))) {
    signal(-child.pid, 'SIGKILL')
    signal(child.pid, 'SIGKILL')
  }
  live.delete(child)
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    if (interrupted) return
    interrupted = true
    say(`\nconformance: ${sig}, stopping ${live.size} process(es)`)
    await Promise.all([...live].map((child) => (child.isProxy ? stopProxy(child) : stopChild(child))))
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig] ?? 0))
  })
}

function tail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}

async function waitReady(child, port) {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (exited(child)) return `the proxy exited (code ${child.exitCode}, signal ${child.signalCode}) before /ping answered`
    try {
      const response = await fetch(`http://127.0.0.1:${port}/ping`, { signal: AbortSignal.timeout(1_000) })
      await response.arrayBuffer()
      if (response.status === 200) return undefined
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 100))
  }
  return `GET /ping did not answer 200 within ${READY_TIMEOUT_MS / 1000} s`
}

function runSuite(url, modeDir, baselineFile, logFile) {
  const args = [
    suiteEntry,
    'server',
    '--url',
    url,
    '--requirements',
    REQUIREMENTS,
    '--expected-failures',
    baselineFile,
    '--timeout',
    opts.timeout,
    '--output-dir',
    join(modeDir, 'results'),
  ]
  return new Promise((resolveRun) => {
    const log = openSync(logFile, 'w')
    const child = spawn(node22, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    live.add(child)
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    let stdout = ''
    const record = (chunk, echo) => {
      if (opts.verbose) echo.write(colour ? chunk : stripAnsi(chunk))
      writeSync(log, chunk)
    }
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      record(chunk, process.stdout)
    })
    child.stderr.on('data', (chunk) => record(chunk, process.stderr))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      stopChild(child)
    }, SUITE_TIMEOUT_MS)
    child.on('error', (error) => {
      clearTimeout(timer)
      live.delete(child)
      closeSync(log)
      resolveRun({ code: null, error: error.message, stdout, timedOut })
    })
    child.on('close', (code, sig) => {
      clearTimeout(timer)
      live.delete(child)
      closeSync(log)
      resolveRun({ code, signal: sig, stdout, timedOut })
    })
  })
}

// ---------------------------------------------------------------------------------------------
// Results

/** checks.json of every scenario the suite wrote: scenario → checks. */
function readResults(resultsDir) {
  const results = new Map()
  if (!existsSync(resultsDir)) return results
  for (const entry of readdirSync(resultsDir)) {
    const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry)
    const file = join(resultsDir, entry, 'checks.json')
    if (!match || !existsSync(file)) continue
    results.set(match[1], JSON.parse(readFileSync(file, 'utf8')))
  }
  return results
}

/** The most severe status per check id (ids may repeat within a scenario). */
function collapse(checks) {
  const rank = { FAILURE: 4, WARNING: 3, SUCCESS: 2, SKIPPED: 1, INFO: 0 }
  const byId = new Map()
  for (const check of checks) {
    const seen = byId.get(check.id)
    if (!seen || (rank[check.status] ?? 0) > (rank[seen.status] ?? 0)) byId.set(check.id, check)
  }
  return [...byId.values()]
}

/**
 * Scored checks of one mode. Like the suite's --expected-failures evaluation, a WARNING in a
 * scored scenario counts as failing unless the baseline lists it; `failed` counts both.
 */
function score(results, baseline) {
  const tally = { scenarios: 0, scenariosFailing: 0, passed: 0, failed: 0, warnings: 0, expected: [], unexpected: [], missing: [], notScored: [] }
  for (const scenario of scored) {
    const checks = results.get(scenario)
    if (!checks) {
      tally.missing.push(scenario)
      tally.scenariosFailing += 1
      continue
    }
    tally.scenarios += 1
    tally.passed += checks.filter((check) => check.status === 'SUCCESS').length
    tally.warnings += checks.filter((check) => check.status === 'WARNING').length
    tally.failed += checks.filter((check) => check.status === 'FAILURE' || check.status === 'WARNING').length
    const failing = collapse(checks).filter((check) => check.status === 'FAILURE' || check.status === 'WARNING')
    for (const check of failing) {
      (baseline.covers(scenario, check.id) ? tally.expected : tally.unexpected).push({ scenario, check })
    }
    if (failing.length > 0) tally.scenariosFailing += 1
  }
  for (const [scenario, reason] of notScored) {
    const checks = results.get(scenario)
    if (!checks) continue
    tally.notScored.push({
      scenario,
      reason,
      passed: checks.filter((check) => check.status === 'SUCCESS').length,
      failing: collapse(checks).filter((check) => check.status === 'FAILURE' || check.status === 'WARNING'),
    })
  }
  return tally
}

const oneLine = (text, max = 400) => {
  const flat = String(text ?? '').replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max)}…` : flat
}

// ---------------------------------------------------------------------------------------------
// Main

async function runMode(mode, outRoot) {
  const outcome = { mode: mode.name, ok: false, skipped: undefined, problems: [], tally: undefined }
  say(`\n=== mode ${mode.name}: ${mode.summary}`)
  if (mode.skip) {
    outcome.skipped = mode.skip
    say(`skipped: ${mode.skip}`)
    return outcome
  }
  const missing = missingPlaceholders(mode)
  if (missing.length > 0) {
    outcome.skipped = `the proxy command template has no ${missing.join(' or ')} placeholder`
    say(`skipped: ${outcome.skipped}`)
    return outcome
  }

  const modeDir = join(outRoot, mode.name)
  mkdirSync(modeDir, { recursive: true })
  const port = await freePort()
  const apiKey = randomBytes(24).toString('base64url')
  const argv = proxyArgv(mode, port, apiKey)
  const proxyLog = join(modeDir, 'proxy.log')
  say(`proxy: ${argv.join(' ').replace(apiKey, '<key>')}`)

  const logFd = openSync(proxyLog, 'w')
  const proxy = spawn(argv[0], argv.slice(1), { cwd: ROOT, env: proxyEnv, stdio: ['ignore', logFd, logFd], detached: true })
  closeSync(logFd)
  proxy.isProxy = true
  live.add(proxy)
  let spawnError
  proxy.on('error', (error) => {
    spawnError = error
  })

  try {
    const notReady = await waitReady(proxy, port)
    if (notReady || spawnError) {
      outcome.problems.push(spawnError ? `cannot start the proxy: ${spawnError.message}` : notReady)
      const logTail = tail(proxyLog)
      if (logTail) say(`proxy log (${proxyLog}):\n${logTail.replace(/^/gm, '  ')}`)
      return outcome
    }

    const url = `http://localhost:${port}/mcp`
    say(`suite: conformance ${suitePkg.version} server --url ${url} --requirements ${REQUIREMENTS} --timeout ${opts.timeout}`)
    const started = Date.now()
    const baseline = baselineFor(mode, modeDir)
    const run = await runSuite(url, modeDir, baseline.file, join(modeDir, 'suite.log'))
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    if (interrupted) return outcome

    const summary = run.stdout.indexOf('=== SUMMARY ===')
    if (!opts.verbose && summary !== -1) {
      const text = run.stdout.slice(summary)
      say((colour ? text : stripAnsi(text)).trimEnd())
    }
    if (run.error) outcome.problems.push(`cannot run the suite: ${run.error}`)
    if (run.timedOut) outcome.problems.push(`the suite did not finish within ${SUITE_TIMEOUT_MS / 1000} s and was stopped`)
    else if (run.code !== 0) outcome.problems.push(`the suite exited with ${run.code ?? run.signal}`)

    const tally = score(readResults(join(modeDir, 'results')), baseline)
    outcome.tally = tally
    const warned = tally.warnings > 0 ? ` (${tally.warnings} of them SHOULD-level warnings, which the baseline check counts as failures)` : ''
    say(`\nmode ${mode.name} (${seconds} s): ${tally.scenarios}/${scored.size} scored scenarios reported, ${tally.scenariosFailing} failing; scored checks: ${tally.passed} passed, ${tally.failed} failed${warned}`)
    const describe = ({ scenario, check }) =>
      `${scenario} [${check.id}] ${check.status === 'WARNING' ? '(warning) ' : ''}${oneLine(check.errorMessage ?? check.description)}`
    for (const failure of tally.unexpected) say(`  FAIL ${describe(failure)}`)
    for (const failure of tally.expected) say(`  expected (in baseline) ${describe(failure)}`)
    for (const scenario of tally.missing) say(`  FAIL ${scenario}: no result (the suite did not report this scenario)`)
    for (const entry of tally.notScored) {
      say(`  not scored (${entry.reason}) ${entry.scenario}: ${entry.passed} passed, ${entry.failing.length} failing or warning`)
      for (const check of entry.failing) {
        say(`    ${check.status.toLowerCase()} [${check.id}] ${oneLine(check.errorMessage ?? check.description, 200)}`)
      }
    }
    if (tally.unexpected.length > 0 || tally.missing.length > 0) {
      outcome.problems.push(`${tally.unexpected.length + tally.missing.length} scored failure(s) not in expected-failures.yml`)
    }
    outcome.ok = outcome.problems.length === 0
    return outcome
  } finally {
    const leftovers = await stopProxy(proxy)
    if (leftovers.length > 0) {
      say(`  warning: the proxy left ${leftovers.length} process(es) running after it exited (pids ${leftovers.join(', ')}); killed them`)
    }
  }
}

async function main() {
  const nodeVersion = await new Promise((done) => {
    const child = spawn(node22, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.on('close', () => done(out.trim()))
    child.on('error', () => done(''))
  })
  if (Number(/^v(\d+)/.exec(nodeVersion)?.[1] ?? 0) < 22) fatal(`${node22} is ${nodeVersion || 'not runnable'}; the suite needs Node >= 22`)

  const usingDefault = proxyTemplate === DEFAULT_PROXY_CMD
  if (usingDefault && !existsSync(join(ROOT, 'apps', 'server', 'dist', 'cli.js'))) {
    fatal('apps/server/dist/cli.js is missing: run `pnpm build` first (or pass --proxy-cmd)')
  }

  const outRoot = opts['out-dir'] ? resolve(opts['out-dir']) : mkdtempSync(join(tmpdir(), 'mcp-conformance-'))
  mkdirSync(outRoot, { recursive: true })
  say(`MCP conformance: @modelcontextprotocol/conformance ${suitePkg.version} on Node ${nodeVersion}; proxy on ${systemNode}`)
  say(`requirements ${REQUIREMENTS}: ${scored.size} scored server scenarios; baseline ${EXPECTED_FAILURES.slice(ROOT.length + 1)}; output ${outRoot}`)

  const outcomes = []
  for (const name of selectedModes) {
    outcomes.push(await runMode(MODES.find((mode) => mode.name === name), outRoot))
  }

  say('\n=== summary')
  let passed = 0
  let failed = 0
  let expected = 0
  for (const outcome of outcomes) {
    if (outcome.skipped) {
      say(`${outcome.mode}: skipped (${outcome.skipped})`)
      continue
    }
    const tally = outcome.tally
    if (tally) {
      passed += tally.passed
      failed += tally.failed
      expected += tally.expected.length
    }
    const counts = tally ? `${tally.passed} passed, ${tally.failed} failed` : 'no results'
    say(`${outcome.mode}: ${outcome.ok ? 'ok' : 'FAILED'} (${counts})${outcome.problems.length > 0 ? ` - ${outcome.problems.join('; ')}` : ''}`)
  }
  // A mode that produced no results at all counts as one failure, so a broken run never reads as green.
  const broken = outcomes.filter((outcome) => !outcome.skipped && !outcome.tally).length
  const unexpected = failed - expected + broken
  if (expected > 0) say(`(${expected} failing check(s) are listed in expected-failures.yml, counted as skipped)`)
  say(`${passed} passed, ${unexpected} failed${expected > 0 ? `, ${expected} skipped` : ''}`)
  mkdirSync(REPORTS, { recursive: true })
  writeFileSync(join(REPORTS, 'conformance.json'), JSON.stringify({ passed, failed: unexpected, skipped: expected }) + '\n')
  const ran = outcomes.filter((outcome) => !outcome.skipped)
  process.exitCode = ran.length > 0 && ran.every((outcome) => outcome.ok) ? 0 : 1
}

main().catch(async (error) => {
  process.stderr.write(`conformance: ${error.stack ?? error}\n`)
  await Promise.all([...live].map((child) => (child.isProxy ? stopProxy(child) : stopChild(child))))
  process.exit(1)
})
