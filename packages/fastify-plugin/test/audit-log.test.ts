// The audit log (`auditLog`): one JSON line per finished request, with names and sizes only. Through the
// real plugin and a real child: a 2025 session (an answer, an error, a tool call whose argument looks like a
// secret, a resource read) and a 2026-07-28 call, all behind an API key; then the file is read back line by
// line. Then the destinations that fail: a path that cannot be opened (registration fails), and /dev/full
// (every write fails with ENOSPC: logged once, requests still served). The drop policy of a destination
// that is behind is checked on the listener itself with a stream that never finishes a write.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import type { Logger, TapEvent } from '@proxy/core'
import { AuditLog, auditLine, FST_MCP_PROXY_AUDIT_LOG } from '../src/audit/audit-log.js'
import { answerOf, listenLogged, post, waitFor, type LogLine, type Message } from './failure-helpers.js'
import { buildApp } from './helpers.js'
import { exchange, modernCall } from './modern-helpers.js'

const API_KEY = 'audit-test-key-7f3a9c1e5b'
const SECRET = 'sk-live-DO-NOT-LOG-4b8d2f'
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'audit-log-test-'))
  dirs.push(dir)
  return dir
}

/** The lines of an audit file, parsed. */
function linesOf(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** UTF-8 bytes of a message as JSON text. */
const bytesOf = (message: unknown): number => Buffer.byteLength(JSON.stringify(message))

function requestDone(overrides: Partial<Extract<TapEvent, { type: 'request-done' }>> = {}): Extract<TapEvent, { type: 'request-done' }> {
  return {
    type: 'request-done',
    method: 'tools/call',
    target: 'echo',
    id: 1,
    durationMs: 3,
    outcome: 'ok',
    errorCode: undefined,
    requestBytes: 80,
    answerBytes: 120,
    scope: { era: 'legacy', session: 's-1', protocolVersion: '2025-11-25' },
    ...overrides,
  }
}

/** A logger that keeps what it is told. */
function memoryLogger(): { logger: Logger; lines: Array<{ level: string; obj: object; msg?: string }> } {
  const lines: Array<{ level: string; obj: object; msg?: string }> = []
  const at = (level: string) => (obj: object, msg?: string) => void lines.push(msg === undefined ? { level, obj } : { level, obj, msg })
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines }
}

describe('the audit log (plugin option auditLog)', () => {
  it('writes one line per finished request, names and sizes only: no body, no argument, no API key', async () => {
    const path = join(tempDir(), 'audit.log')
    const { base, close } = await listenLogged({ auditLog: path, apiKey: API_KEY })
    const auth = { 'x-api-key': API_KEY }

    // A 2025 session: initialize, an answer, an error, a secret-looking argument, a resource read.
    const init = await post(base, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'audit', version: '1' } } }, { headers: auth })
    const session = init.headers.get('mcp-session-id')!
    await answerOf(init, 0)
    const options = { session, protocolVersion: '2025-11-25', headers: auth }
    expect((await post(base, { jsonrpc: '2.0', method: 'notifications/initialized' }, options)).status).toBe(202)
    const sent: Message[] = [
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello audit' } } },
      { jsonrpc: '2.0', id: 'two', method: 'no/such-method', params: {} },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { text: SECRET } } },
      { jsonrpc: '2.0', id: 4, method: 'resources/read', params: { uri: 'test://static' } },
    ]
    const answers: Message[] = []
    for (const message of sent) answers.push(await answerOf(await post(base, message, options), message.id!))
    expect(answers[1]!.error?.code).toBe(-32601)

    // A 2026-07-28 call (no session; the principal is the API key's, never the key).
    const modern = await exchange(base, modernCall('m-1', 'echo', { text: `modern ${SECRET}` }), auth)
    expect(modern.status).toBe(200)

    await close()
    const text = readFileSync(path, 'utf8')
    for (const secret of [API_KEY, SECRET, 'hello audit', 'static resource', 'arguments', 'clientInfo']) expect(text).not.toContain(secret)
    expect(statSync(path).mode & 0o777).toBe(0o600)

    const lines = linesOf(path)
    for (const line of lines) {
      expect(line.time).toMatch(ISO_TIME)
      expect(line.durationMs).toBeGreaterThanOrEqual(0)
    }
    // The principal of the one API key (its name, never the key) is on every line, 2025 and 2026 alike.
    const legacy = { era: 'legacy', session, principal: 'api-key:1' }
    const variable = { time: expect.stringMatching(ISO_TIME), durationMs: expect.any(Number) }
    // Every request of the session went to its child exactly as sent, and every answer came back as the
    // child wrote it: the byte counts are those of the JSON texts.
    expect(lines).toEqual([
      { ...variable, ...legacy, method: 'initialize', id: 0, outcome: 'ok', bytesIn: expect.any(Number), bytesOut: expect.any(Number) },
      { ...variable, ...legacy, method: 'tools/call', target: 'echo', id: 1, outcome: 'ok', bytesIn: bytesOf(sent[0]), bytesOut: bytesOf(answers[0]) },
      { ...variable, ...legacy, method: 'no/such-method', id: 'two', outcome: 'error', errorCode: -32601, bytesIn: bytesOf(sent[1]), bytesOut: bytesOf(answers[1]) },
      { ...variable, ...legacy, method: 'tools/call', target: 'echo', id: 3, outcome: 'ok', bytesIn: bytesOf(sent[2]), bytesOut: bytesOf(answers[2]) },
      { ...variable, ...legacy, method: 'resources/read', target: 'test://static', id: 4, outcome: 'ok', bytesIn: bytesOf(sent[3]), bytesOut: bytesOf(answers[3]) },
      { ...variable, era: 'modern', principal: 'api-key:1', method: 'tools/call', target: 'echo', id: 'm-1', outcome: 'ok', bytesIn: expect.any(Number), bytesOut: expect.any(Number) },
    ])
  })

  it('appends to an existing file and keeps what was there', async () => {
    const path = join(tempDir(), 'audit.log')
    writeFileSync(path, '{"earlier":true}\n')
    const { base, close } = await listenLogged({ auditLog: path })
    const session = init(base)
    await answerOf(await post(base, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { session: await session, protocolVersion: '2025-11-25' }), 1)
    await close()
    const lines = linesOf(path)
    expect(lines[0]).toEqual({ earlier: true })
    expect(lines.at(-1)).toMatchObject({ method: 'tools/list', id: 1, outcome: 'ok' })
  })

  it('a path that cannot be opened fails registration with the path and the reason', async () => {
    const path = join(tempDir(), 'no-such-dir', 'audit.log')
    const failure = buildApp({ auditLog: path })
    await expect(failure).rejects.toThrow(`cannot open the audit log ${path}: its directory does not exist`)
    await expect(failure).rejects.toBeInstanceOf(FST_MCP_PROXY_AUDIT_LOG)
    await expect(failure).rejects.toMatchObject({ code: 'FST_MCP_PROXY_AUDIT_LOG' })
    await expect(buildApp({ auditLog: tempDir() })).rejects.toThrow(/: it is a directory$/)
  })

  it.skipIf(!existsSync('/dev/full'))('a destination whose writes fail (ENOSPC) is logged once; the proxy goes on serving', async () => {
    const { base, logs, close } = await listenLogged({ auditLog: '/dev/full' })
    const session = await init(base)
    for (let id = 1; id <= 5; id++) {
      const answer = await answerOf(await post(base, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: `after ${id}` } } }, { session, protocolVersion: '2025-11-25' }), id)
      expect(answer.result).toBeDefined()
    }
    const failed = (line: LogLine): boolean => line.msg?.startsWith('audit log cannot be written') === true
    await waitFor(() => logs.some(failed), 'the audit error line')
    // More lines after the failure: still one error line, and every call is answered.
    for (let id = 6; id <= 8; id++) expect((await answerOf(await post(base, { jsonrpc: '2.0', id, method: 'tools/list' }, { session, protocolVersion: '2025-11-25' }), id)).result).toBeDefined()
    await close()
    const failures = logs.filter(failed)
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatchObject({ auditLog: '/dev/full', code: 'ENOSPC' })
  })
})

describe('the audit listener', () => {
  it('hands lines over in one write; drops them while more than its bound is unwritten, and says how many once it catches up', () => {
    const pending: Array<() => void> = []
    const stalled = new Writable({
      write(_chunk, _encoding, callback) {
        pending.push(() => callback())
      },
    })
    const { logger, lines } = memoryLogger()
    const audit = new AuditLog(stalled, { destination: 'test', logger, maxBufferedBytes: 1000 })
    // Lines of ~200 bytes: the first few fit under the bound, then every one is dropped, none blocks.
    for (let i = 0; i < 50; i++) audit.listener(requestDone({ id: i }))
    const written = 50 - audit.dropped
    expect(written).toBeGreaterThan(1)
    expect(written).toBeLessThan(10)
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1)
    expect(lines[0]!.msg).toMatch(/behind; dropping audit lines/)
    // The lines gathered so far go to the stream in one write (which never finishes: still over the bound).
    expect(pending).toHaveLength(0)
    audit.flush()
    expect(pending).toHaveLength(1)
    audit.listener(requestDone({ id: 'still behind' }))
    expect(audit.dropped).toBe(50 - written + 1)

    // The destination catches up: the next line is written, and the count of the dropped ones is reported.
    while (pending.length > 0) pending.shift()!()
    audit.listener(requestDone({ id: 'after' }))
    expect(audit.dropped).toBe(50 - written + 1)
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(2)
    expect(lines[1]).toMatchObject({ obj: { dropped: 51 - written, droppedTotal: 51 - written }, msg: 'audit lines dropped while the destination was behind' })
  })

  it('a stream that errors (EPIPE) is reported once; later lines are not written and nothing throws', async () => {
    let writes = 0
    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        writes++
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
      },
    })
    const { logger, lines } = memoryLogger()
    const audit = new AuditLog(broken, { destination: 'stdout', logger })
    audit.listener(requestDone())
    audit.flush()
    await new Promise((resolve) => setImmediate(resolve))
    for (let i = 0; i < 5; i++) expect(() => audit.listener(requestDone({ id: i }))).not.toThrow()
    audit.flush()
    expect(audit.failed).toBe(true)
    expect(writes).toBe(1)
    expect(lines.filter((l) => l.level === 'error')).toEqual([
      expect.objectContaining({ obj: expect.objectContaining({ auditLog: 'stdout', code: 'EPIPE' }) as object, msg: expect.stringMatching(/^audit log cannot be written/) as string }),
    ])
    await audit.close()
  })

  it('the line: only client requests; credentials of a URI masked; client-chosen strings cut', () => {
    expect(auditLine(requestDone({ scope: undefined }))).toBeUndefined()
    const at = new Date('2026-12-02T10:00:00.000Z')
    expect(JSON.stringify(auditLine(requestDone({ errorCode: undefined, answerBytes: undefined }), at))).toBe(
      '{"time":"2026-12-02T10:00:00.000Z","era":"legacy","session":"s-1","method":"tools/call","target":"echo","id":1,"durationMs":3,"outcome":"ok","bytesIn":80}',
    )
    expect(auditLine(requestDone({ method: 'resources/read', target: 'postgres://admin:hunter2@db.example/main?x=1' }))?.target).toBe('postgres://***@db.example/main?x=***')
    expect(auditLine(requestDone({ target: 'mailto:someone@example.com' }))?.target).toBe('mailto:someone@example.com')
    expect(auditLine(requestDone({ target: 'x'.repeat(5000), id: 'y'.repeat(5000) }))).toMatchObject({ target: `${'x'.repeat(1024)}…`, id: `${'y'.repeat(1024)}…` })
  })
})

/** Initialize a session without an API key; resolves with its id. */
async function init(base: string): Promise<string> {
  const response = await post(base, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'audit', version: '1' } } })
  const session = response.headers.get('mcp-session-id')!
  await answerOf(response, 0)
  expect((await post(base, { jsonrpc: '2.0', method: 'notifications/initialized' }, { session, protocolVersion: '2025-11-25' })).status).toBe(202)
  return session
}
