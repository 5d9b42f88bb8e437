import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  ChildPool,
  MemoryEventStore,
  ProxyError,
  SessionRegistry,
  type ChildCommand,
  type ProxyErrorCode,
  type SessionRegistryOptions,
} from '../src/index.js'
import { FakeSink, childOptions, cleanup, eventually, fixtureCommand, fixtureProcesses, isAlive, onCleanup, recordingLogger } from './helpers.js'

afterEach(cleanup)

function openRegistry(command: ChildCommand, overrides: Partial<SessionRegistryOptions> = {}, poolSize = 0) {
  const logger = recordingLogger()
  const pool = new ChildPool(childOptions(command, { shared: false, logger }), poolSize)
  const registry = new SessionRegistry({
    pool,
    maxSessions: 10,
    idleTimeoutMs: 0,
    createEventStore: () => new MemoryEventStore({ maxEvents: 100, maxBytes: 1 << 16 }),
    initializeTimeoutMs: 5000,
    idPrefix: 'i1.',
    logger,
    ...overrides,
  })
  onCleanup(() => registry.close())
  return { registry, pool }
}

function errorCodeOf(action: () => unknown): ProxyErrorCode | undefined {
  try {
    action()
  } catch (error) {
    expect(error).toBeInstanceOf(ProxyError)
    return (error as ProxyError).code
  }
  return undefined
}

describe('SessionRegistry sessions', () => {
  it('creates sessions with prefixed ids, each with its own child, and finds them by id', () => {
    const { registry } = openRegistry(fixtureCommand('echo-server'))
    const a = registry.create('streamable')
    const b = registry.create('legacy-sse')
    expect(a.id.startsWith('i1.')).toBe(true)
    expect(a.id).not.toBe(b.id)
    expect(registry.get(a.id)).toBe(a)
    expect(registry.get(b.id)).toBe(b)
    expect(registry.get('i1.unknown')).toBeUndefined()
    expect(registry.size).toBe(2)
    expect(b.transport).toBe('legacy-sse')
    expect(a.backend.pid).not.toBe(b.backend.pid)
  })

  it('gives each streamable session its own event store, and legacy sessions none', () => {
    const { registry } = openRegistry(fixtureCommand('echo-server'))
    const a = registry.create('streamable')
    const b = registry.create('streamable')
    expect(a.store).toBeDefined()
    expect(b.store).toBeDefined()
    expect(a.store).not.toBe(b.store)
    expect(registry.create('legacy-sse').store).toBeUndefined()
  })

  it('refuses a session beyond maxSessions when every session is busy, and takes one again once a slot is free', async () => {
    const { registry } = openRegistry(fixtureCommand('echo-server'), { maxSessions: 2 })
    const first = registry.create('streamable')
    first.attachStandalone(new FakeSink())
    registry.create('streamable').attachStandalone(new FakeSink())
    expect(errorCodeOf(() => registry.create('streamable'))).toBe('MCP_PROXY_SESSION_LIMIT')
    expect(registry.size).toBe(2)

    await first.close()
    expect(registry.get(first.id)).toBeUndefined()
    expect(errorCodeOf(() => registry.create('streamable'))).toBeUndefined()
  })

  it('closes the session idle longest to make room at the cap, never one with an open stream', async () => {
    const { registry } = openRegistry(fixtureCommand('echo-server'), { maxSessions: 3 })
    const connected = registry.create('streamable')
    connected.attachStandalone(new FakeSink())
    const older = registry.create('streamable')
    const newer = registry.create('streamable')
    older.lastActivity -= 10_000
    connected.lastActivity -= 60_000
    await new Promise((resolve) => setImmediate(resolve)) // just opened, a session is on its way to its client: never evicted

    const fresh = await registry.open('streamable') // the evicted session's child must stop first (no warm pool)
    expect(registry.get(older.id)).toBeUndefined()
    expect(older.closed).toBe(true)
    expect([connected, newer, fresh].map((s) => registry.get(s.id))).toEqual([connected, newer, fresh])
    expect(registry.stats.evicted).toBe(1)
  })

  it('does not evict a session opened in the same turn, before its first message reached it', () => {
    const { registry } = openRegistry(fixtureCommand('echo-server'), { maxSessions: 1 })
    const first = registry.create('streamable')
    expect(errorCodeOf(() => registry.create('streamable'))).toBe('MCP_PROXY_SESSION_LIMIT')
    expect(first.closed).toBe(false)
  })

  it('does not evict a session with a request in flight', async () => {
    const { registry } = openRegistry(fixtureCommand('hang-server'), { maxSessions: 1 })
    const busy = registry.create('streamable')
    busy.serve([{ message: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }, text: undefined }], new FakeSink())
    busy.serve([{ message: { jsonrpc: '2.0', id: 2, method: 'tools/list' }, text: undefined }])
    await eventually(() => expect(busy.busy).toBe(true))
    expect(errorCodeOf(() => registry.create('streamable'))).toBe('MCP_PROXY_SESSION_LIMIT')
  })

  it('forgets a session whose child exits', async () => {
    const { registry } = openRegistry(fixtureCommand('echo-server'))
    const session = registry.create('streamable')
    process.kill(session.backend.pid!, 'SIGKILL')
    await eventually(() => expect(registry.get(session.id)).toBeUndefined())
    expect(session.closed).toBe(true)
  })
})

describe('SessionRegistry children', () => {
  it('never runs more children than maxSessions plus the pool size, counting the ones waiting in the pool', async () => {
    const { registry, pool } = openRegistry(fixtureCommand('echo-server'), { maxSessions: 2 }, 1)
    pool.fill()
    registry.create('streamable').attachStandalone(new FakeSink())
    await eventually(() => expect(pool.idle).toBe(1)) // refilled after the take
    registry.create('streamable').attachStandalone(new FakeSink())
    await eventually(() => expect(pool.idle).toBe(1))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(fixtureProcesses()).toHaveLength(3)
  })

  it('counts children that are still stopping: rapid open/close with a child ignoring SIGTERM stays within the bound', async () => {
    const { registry, pool } = openRegistry(fixtureCommand('ignore-sigterm-server'), { maxSessions: 2 }, 1)
    pool.fill()
    let refused = 0
    let peak = 0
    for (let i = 0; i < 12; i++) {
      try {
        const session = registry.create('streamable')
        void session.close()
      } catch (error) {
        expect((error as ProxyError).code).toBe('MCP_PROXY_SESSION_LIMIT')
        refused++
      }
      peak = Math.max(peak, fixtureProcesses().length)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(peak).toBeLessThanOrEqual(3)
    expect(refused).toBeGreaterThan(0)
    expect(registry.stopping).toBeGreaterThan(0)
  })

  it('open() waits for a stopping child to free its slot instead of refusing', async () => {
    const { registry } = openRegistry(fixtureCommand('echo-server'), { maxSessions: 1, slotWaitMs: 5000 }, 0)
    const first = registry.create('streamable')
    first.attachStandalone(new FakeSink())
    void first.close()
    expect(errorCodeOf(() => registry.create('streamable'))).toBe('MCP_PROXY_SESSION_LIMIT')
    const second = await registry.open('streamable')
    expect(registry.get(second.id)).toBe(second)
    expect(fixtureProcesses()).toHaveLength(1)
  })

  it('two concurrent opens at the cap each make room: both get a session', async () => {
    const { registry } = openRegistry(fixtureCommand('echo-server'), { maxSessions: 2, slotWaitMs: 5000 }, 0)
    const idle = [registry.create('streamable'), registry.create('streamable')]
    await new Promise((resolve) => setImmediate(resolve))
    const opened = await Promise.all([registry.open('streamable'), registry.open('streamable')])
    expect(idle.every((session) => session.closed)).toBe(true)
    expect(opened.map((session) => registry.get(session.id))).toEqual(opened)
  })

  it('grows the warm pool back once the children of closed sessions are gone', async () => {
    const { registry, pool } = openRegistry(fixtureCommand('echo-server'), { maxSessions: 1 }, 1)
    pool.fill()
    const session = registry.create('streamable')
    session.attachStandalone(new FakeSink())
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(pool.idle).toBe(1) // the cap plus the pool size: one session, one warm child
    await registry.get(session.id)!.close()
    await eventually(() => expect(pool.idle).toBe(1))
    expect(registry.create('streamable')).toBeDefined()
  })
})

describe('SessionRegistry idle reaping', () => {
  it('closes idle sessions but never one with an open connection', async () => {
    const { registry } = openRegistry(fixtureCommand('echo-server'), { idleTimeoutMs: 60_000 })
    const connected = registry.create('streamable')
    const idle = registry.create('streamable')
    const standalone = new FakeSink()
    connected.attachStandalone(standalone)

    expect(registry.reapIdle()).toBe(0)
    const later = Date.now() + 60_001
    expect(registry.reapIdle(later)).toBe(1)
    expect(idle.closed).toBe(true)
    expect(registry.get(idle.id)).toBeUndefined()
    expect(connected.closed).toBe(false)
    expect(registry.get(connected.id)).toBe(connected)

    standalone.disconnect()
    expect(registry.reapIdle(later)).toBe(1)
    expect(connected.closed).toBe(true)
    await eventually(() => expect(isAlive(idle.backend.pid!) || isAlive(connected.backend.pid!)).toBe(false))
  })

  it('never reaps a session whose call is still running, even with no stream open', async () => {
    const { registry } = openRegistry(fixtureCommand('hang-server'), { idleTimeoutMs: 60_000 })
    const session = registry.create('streamable')
    session.serve([{ message: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, text: undefined }])
    await eventually(() => expect(session.busy).toBe(true))
    expect(registry.reapIdle(Date.now() + 60_001)).toBe(0)
    expect(session.closed).toBe(false)
  })

  it('starts the idle countdown when the last connection closes, not when the session was last used', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    onCleanup(() => vi.useRealTimers())
    const { registry } = openRegistry(fixtureCommand('echo-server'), { idleTimeoutMs: 60_000 })
    const session = registry.create('streamable')
    const standalone = new FakeSink()
    session.attachStandalone(standalone)

    vi.setSystemTime(Date.now() + 120_000) // a stream open for two minutes: never idle
    expect(registry.reapIdle()).toBe(0)
    standalone.disconnect()
    expect(registry.reapIdle(), 'reaped the moment its stream closed: a client reconnecting now gets 404').toBe(0)
    vi.setSystemTime(Date.now() + 60_001)
    expect(registry.reapIdle()).toBe(1)
    await session.backend.exited
  })

  it('reaps on its own timer when idleTimeoutMs is set', async () => {
    const { registry } = openRegistry(fixtureCommand('echo-server'), { idleTimeoutMs: 150 })
    const connected = registry.create('streamable')
    connected.attachStandalone(new FakeSink())
    const idle = registry.create('streamable')
    await eventually(() => expect(idle.closed).toBe(true))
    expect(connected.closed).toBe(false)
    await idle.backend.exited
  })
})

describe('SessionRegistry shutdown', () => {
  it('close stops every child, pooled ones and ones that ignore SIGTERM included, and leaves none behind', async () => {
    const { registry, pool } = openRegistry(fixtureCommand('ignore-sigterm-server'), {}, 2)
    pool.fill()
    const sessions = [registry.create('streamable'), registry.create('legacy-sse')]
    await eventually(() => expect(pool.idle).toBe(2))
    const pids = fixtureProcesses()
    expect(pids).toHaveLength(4)
    expect(pids).toEqual(expect.arrayContaining(sessions.map((session) => session.backend.pid)))

    await registry.close()
    expect(pids.filter(isAlive)).toEqual([])
    expect(fixtureProcesses()).toEqual([])
    expect(registry.size).toBe(0)
    expect(sessions.every((session) => session.closed)).toBe(true)
    expect(errorCodeOf(() => registry.create('streamable'))).toBe('MCP_PROXY_CLOSED')
  })

  it('close waits for the children of sessions that were closed before it and are still stopping', async () => {
    const { registry } = openRegistry(fixtureCommand('ignore-sigterm-server'), { idleTimeoutMs: 60_000 })
    const session = registry.create('streamable')
    const pid = session.backend.pid!
    // Reaped: its child is now in the stop ladder (SIGKILL only after two grace periods).
    expect(registry.reapIdle(Date.now() + 60_001)).toBe(1)
    await registry.close()
    expect(isAlive(pid), 'close resolved while a child of a reaped session was still running').toBe(false)
  })
})
