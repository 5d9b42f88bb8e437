// Shared helpers for the core tests that run real fixture processes (fixtures/*.mjs): spawning, callers
// and sinks that record what they get, message builders, and cleanup that proves no process is left.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, vi } from 'vitest'
import {
  ChildUpstream,
  StdioChild,
  type ChildCommand,
  type ChildExit,
  type ChildUpstreamOptions,
  type EventKind,
  type JsonRpcErrorObject,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Logger,
  type NoiseEvent,
  type StdioChildOptions,
  type StreamSink,
  type UpstreamCaller,
} from '../src/index.js'

// ---------------------------------------------------------------------------------------------------
// Fixtures and commands

export type Fixture =
  | 'echo-server'
  | 'noisy-server'
  | 'slow-start-server'
  | 'crash-server'
  | 'ignore-sigterm-server'
  | 'hang-server'
  | 'garbage-server'
  | 'no-init-server'
  | 'hostile-server'

export function fixturePath(name: Fixture): string {
  return fileURLToPath(new URL(`../../../fixtures/${name}.mjs`, import.meta.url))
}

/** The command that runs a fixture with Node, with the test process's environment plus `env`. */
export function fixtureCommand(name: Fixture, env: Record<string, string> = {}): ChildCommand {
  return { command: process.execPath, args: [fixturePath(name)], env: { ...(process.env as Record<string, string>), ...env } }
}

/** A command that cannot be spawned (ENOENT). */
export const MISSING_COMMAND: ChildCommand = { command: '/nonexistent/mcp-proxy-test/no-such-server', args: [], env: {} }

/** Limits small enough for tests: a short stop ladder, and timeouts no test reaches unless it means to. */
export const TEST_LIMITS = {
  maxLineLength: 1 << 20,
  maxQueuedBytes: 1 << 20,
  stopGraceMs: 200,
  requestTimeoutMs: 10_000,
  maxRequestTimeoutMs: 20_000,
} as const

/** Options of a ChildUpstream running `command` (shared id mapping by default). */
export function childOptions(command: ChildCommand, overrides: Partial<ChildUpstreamOptions> = {}): ChildUpstreamOptions {
  return { command, shared: true, ...TEST_LIMITS, logger: recordingLogger(), ...overrides }
}

// ---------------------------------------------------------------------------------------------------
// Cleanup: every test file calls `afterEach(cleanup)`

const cleanups: Array<() => unknown> = []

/** Run `fn` after the current test (children stopped, registries closed), newest first. */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn)
}

/** Runs the registered cleanups, then fails the test if a fixture process of this worker is still alive. */
export async function cleanup(): Promise<void> {
  const pending = cleanups.splice(0).reverse()
  for (const fn of pending) await fn()
  const left = fixtureProcesses()
  for (const pid of left) killQuietly(pid)
  expect(left, 'fixture processes left running after the test').toEqual([])
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // gone already
  }
}

/** Pids of the live (not zombie) fixture processes whose parent is this test worker. */
export function fixtureProcesses(): number[] {
  const table = execFileSync('ps', ['-A', '-ww', '-o', 'pid=,ppid=,stat=,args='], { encoding: 'utf8' })
  const pids: number[] = []
  for (const row of table.split('\n')) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(row)
    if (!match) continue
    const [, pid, ppid, stat, args] = match
    if (Number(ppid) === process.pid && !stat!.startsWith('Z') && args!.includes('/fixtures/')) pids.push(Number(pid))
  }
  return pids
}

/** True while a process with this pid exists (signal 0 throws ESRCH once it is gone and reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw error
  }
}

/**
 * True while the process exists and is not a zombie. For a grandchild: once its parent is gone it is
 * reparented to pid 1, which may never reap it, so signal 0 alone cannot tell that it died.
 */
export function isRunning(pid: number): boolean {
  if (!isAlive(pid)) return false
  try {
    return !execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim().startsWith('Z')
  } catch {
    return false // ps exits 1 when the process is gone
  }
}

/** Wait until `check` returns without throwing (polls every 5 ms). */
export function eventually<T>(check: () => T, timeout = 5000): Promise<T> {
  return vi.waitFor(check, { timeout, interval: 5 })
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------------
// Logger

export type RecordingLogger = { [K in 'debug' | 'info' | 'warn' | 'error']: ReturnType<typeof vi.fn<Logger[K]>> } & Logger

/** A logger whose methods are mocks; `child()` returns the same logger. */
export function recordingLogger(): RecordingLogger {
  const logger: RecordingLogger = {
    debug: vi.fn<Logger['debug']>(),
    info: vi.fn<Logger['info']>(),
    warn: vi.fn<Logger['warn']>(),
    error: vi.fn<Logger['error']>(),
    child: () => logger,
  }
  return logger
}

/** The messages (second argument) a logger mock was called with. */
export function logged(method: ReturnType<typeof vi.fn<Logger['info']>>): string[] {
  return method.mock.calls.map(([, msg]) => msg ?? '')
}

// ---------------------------------------------------------------------------------------------------
// Processes

/** A StdioChild and everything it reported. */
export interface ChildHarness {
  child: StdioChild
  values: unknown[]
  noise: NoiseEvent[]
  stderr: string[]
  exits: ChildExit[]
  /** Settles once the fixture wrote its `ready <name> pid=<pid>` line (its signal handlers are installed). */
  ready: Promise<void>
}

/** Spawn a StdioChild, recording what it reports; stopped after the test. */
export function startChild(command: ChildCommand, overrides: Partial<StdioChildOptions> = {}): ChildHarness {
  const values: unknown[] = []
  const noise: NoiseEvent[] = []
  const stderr: string[] = []
  const exits: ChildExit[] = []
  let markReady!: () => void
  const ready = new Promise<void>((resolve) => (markReady = resolve))
  const child = new StdioChild(command, {
    maxLineLength: TEST_LIMITS.maxLineLength,
    maxQueuedBytes: TEST_LIMITS.maxQueuedBytes,
    stopGraceMs: TEST_LIMITS.stopGraceMs,
    onValue: (value) => values.push(value),
    onNoise: (event) => noise.push(event),
    onStderr: (line) => {
      stderr.push(line)
      if (line.startsWith('ready ')) markReady()
    },
    onExit: (exit) => exits.push(exit),
    ...overrides,
  })
  onCleanup(() => child.stop())
  return { child, values, noise, stderr, exits, ready }
}

/** Spawn a ChildUpstream; stopped after the test. */
export function startUpstream(command: ChildCommand, overrides: Partial<ChildUpstreamOptions> = {}): ChildUpstream {
  const backend = new ChildUpstream(childOptions(command, overrides))
  onCleanup(() => backend.stop())
  return backend
}

/**
 * Spawn a ChildUpstream and wait until the child answers a ping, so that a short timeout in the test
 * measures the child's answers and not how long Node takes to start under load.
 */
export async function startAnsweringUpstream(command: ChildCommand, overrides: Partial<ChildUpstreamOptions> = {}): Promise<ChildUpstream> {
  const backend = startUpstream(command, overrides)
  const caller = new RecordingCaller()
  backend.upstream.request(caller, request('warm-up', 'ping'), undefined, 10_000)
  await caller.response()
  return backend
}

/** Record every line the Upstream writes to the child's stdin (the spy still writes it). */
export function recordStdin(backend: ChildUpstream): { lines: string[]; messages: () => JsonRpcMessage[] } {
  const lines: string[] = []
  const send = backend.child.send.bind(backend.child)
  vi.spyOn(backend.child, 'send').mockImplementation((text: string) => {
    lines.push(text)
    return send(text)
  })
  return { lines, messages: () => lines.map((line) => JSON.parse(line) as JsonRpcMessage) }
}

// ---------------------------------------------------------------------------------------------------
// Messages

export function request(id: JsonRpcId, method: string, params?: Record<string, unknown>): JsonRpcRequest {
  return params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params }
}

export function toolCall(id: JsonRpcId, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>): JsonRpcRequest {
  return request(id, 'tools/call', meta === undefined ? { name, arguments: args } : { name, arguments: args, _meta: meta })
}

export function initializeRequest(id: JsonRpcId, protocolVersion = '2025-06-18'): JsonRpcRequest {
  return request(id, 'initialize', {
    protocolVersion,
    capabilities: { sampling: {}, roots: { listChanged: true } },
    clientInfo: { name: 'core-tests', version: '1.0.0' },
  })
}

export function notification(method: string, params?: Record<string, unknown>): JsonRpcNotification {
  return params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }
}

export function isResponse(message: JsonRpcMessage): message is JsonRpcResponse {
  return !('method' in message)
}

export function isProgress(message: JsonRpcMessage): message is JsonRpcNotification {
  return 'method' in message && message.method === 'notifications/progress'
}

/** The text of a tool result (`result.content[0].text`); fails on an error response. */
export function textOf(message: JsonRpcMessage | undefined): string {
  const result = (message as { result?: { content?: Array<{ text?: unknown }> } } | undefined)?.result
  const text = result?.content?.[0]?.text
  if (typeof text !== 'string') throw new Error(`not a tool result: ${JSON.stringify(message)}`)
  return text
}

/** The error of an error response; fails on anything else. */
export function errorOf(message: JsonRpcMessage | undefined): JsonRpcErrorObject {
  const error = (message as { error?: JsonRpcErrorObject } | undefined)?.error
  if (!error) throw new Error(`not an error response: ${JSON.stringify(message)}`)
  return error
}

// ---------------------------------------------------------------------------------------------------
// Callers and sinks

/** An UpstreamCaller that records everything delivered to it, with the exact texts. */
export class RecordingCaller implements UpstreamCaller {
  readonly delivered: JsonRpcMessage[] = []
  readonly texts: string[] = []
  readonly abandoned: JsonRpcId[] = []
  /** Whether it claims to be an open stream (server→client messages may be routed to it). */
  streaming = false

  deliver(message: JsonRpcMessage, text: string): void {
    this.delivered.push(message)
    this.texts.push(text)
  }

  abandon(id: JsonRpcId): void {
    this.abandoned.push(id)
  }

  get responses(): JsonRpcResponse[] {
    return this.delivered.filter(isResponse)
  }

  get progress(): JsonRpcNotification[] {
    return this.delivered.filter(isProgress)
  }

  /** The first response, once there is one. */
  response(timeout?: number): Promise<JsonRpcResponse> {
    return eventually(() => {
      const [first] = this.responses
      if (!first) throw new Error('no response yet')
      return first
    }, timeout)
  }
}

/** Send one request through `backend` for a fresh caller; resolves with its answer. */
export async function call(backend: ChildUpstream, message: JsonRpcRequest, timeoutMs?: number): Promise<JsonRpcResponse> {
  const caller = new RecordingCaller()
  backend.upstream.request(caller, message, undefined, timeoutMs)
  return caller.response()
}

export interface SinkEvent {
  eventId: string | undefined
  data: string
  kind: EventKind
}

/** A StreamSink that records sends and ends; `disconnect()` plays a client that goes away. */
export class FakeSink implements StreamSink {
  open = true
  readonly streaming: boolean
  readonly events: SinkEvent[] = []
  /** Sends that arrived after the sink was closed (a well-behaved stream never does that). */
  readonly lateSends: SinkEvent[] = []
  ended = 0
  #listeners: Array<() => void> = []

  constructor(streaming = true) {
    this.streaming = streaming
  }

  send(eventId: string | undefined, data: string, kind: EventKind): void {
    ;(this.open ? this.events : this.lateSends).push({ eventId, data, kind })
  }

  end(): void {
    this.ended++
    this.#close()
  }

  onClose(listener: () => void): void {
    this.#listeners.push(listener)
  }

  disconnect(): void {
    this.#close()
  }

  /** Every message sent, parsed (the empty priming event left out). */
  get messages(): JsonRpcMessage[] {
    return this.events.filter((event) => event.data !== '').map((event) => JSON.parse(event.data) as JsonRpcMessage)
  }

  get responses(): JsonRpcResponse[] {
    return this.messages.filter(isResponse)
  }

  /** The first message with this method (a server→client request), once there is one. */
  request(method: string): Promise<JsonRpcRequest> {
    return eventually(() => {
      const found = this.messages.find((message) => 'method' in message && message.method === method && 'id' in message)
      if (!found) throw new Error(`no ${method} yet`)
      return found as JsonRpcRequest
    })
  }

  /** The response with this id, once there is one. */
  response(id: JsonRpcId): Promise<JsonRpcResponse> {
    return eventually(() => {
      const found = this.responses.find((message) => message.id === id)
      if (!found) throw new Error(`no response ${String(id)} yet`)
      return found
    })
  }

  #close(): void {
    if (!this.open) return
    this.open = false
    for (const listener of this.#listeners) listener()
  }
}
