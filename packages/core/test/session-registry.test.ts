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
  onCleanup(() => registry.closeAll())
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
    expect(a.backend.child.pid).not.toBe(b.backend.child.pid)
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

  it('refuses a session beyond maxSessions with MCP_PROXY_SESSION_LIMIT, and takes one again once a slot is free', async () => {
    const { registry } = openRegistry(fixtureCommand('echo-server'), { maxSessions: 2 })
    const first = registry.create('streamable')
    registry.create('streamable')
    expect(errorCodeOf(() => registry.create('streamable'))).toBe('MCP_PROXY_SESSION_LIMIT')
    expect(registry.size).toBe(2)

    await first.close()
    expect(registry.get(first.id)).toBeUndefined()
    expect(errorCodeOf(() => registry.create('streamable'))).toBeUndefined()
  })

  it('forgets a session whose child exits', async () => {
    const { registry } = openRegistry(fixtureCommand('echo-server'))
    const session = registry.create('streamable')
    process.kill(session.backend.child.pid!, 'SIGKILL')
    await eventually(() => expect(registry.get(session.id)).toBeUndefined())
    expect(session.closed).toBe(true)
  })
})

describe('SessionRegistry children', () => {
  it('never runs more children than maxSessions, counting the ones waiting in the pool', async () => {
    const { registry, pool } = openRegistry(fixtureCommand('echo-server'), { maxSessions: 2 }, 2)
    pool.fill()
    registry.create('streamable')
    await new Promise((resolve) => setImmediate(resolve)) // the pool refills after each take
    expect(fixtureProcesses()).toHaveLength(2)
    registry.create('streamable')
    await new Promise((resolve) => setImmediate(resolve))
    expect(fixtureProcesses()).toHaveLength(2)
    expect(pool.idle).toBe(0)
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
    await eventually(() => expect(isAlive(idle.backend.child.pid!) || isAlive(connected.backend.child.pid!)).toBe(false))
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
  it('closeAll stops every child, pooled ones and ones that ignore SIGTERM included, and leaves none behind', async () => {
    const { registry, pool } = openRegistry(fixtureCommand('ignore-sigterm-server'), {}, 2)
    pool.fill()
    const sessions = [registry.create('streamable'), registry.create('legacy-sse')]
    await eventually(() => expect(pool.idle).toBe(2))
    const pids = fixtureProcesses()
    expect(pids).toHaveLength(4)
    expect(pids).toEqual(expect.arrayContaining(sessions.map((session) => session.backend.child.pid)))

    await registry.closeAll()
    expect(pids.filter(isAlive)).toEqual([])
    expect(fixtureProcesses()).toEqual([])
    expect(registry.size).toBe(0)
    expect(sessions.every((session) => session.closed)).toBe(true)
    expect(errorCodeOf(() => registry.create('streamable'))).toBe('MCP_PROXY_CLOSED')
  })

  it('closeAll waits for the children of sessions that were closed before it and are still stopping', async () => {
    const { registry } = openRegistry(fixtureCommand('ignore-sigterm-server'), { idleTimeoutMs: 60_000 })
    const session = registry.create('streamable')
    const pid = session.backend.child.pid!
    // Reaped: its child is now in the stop ladder (SIGKILL only after two grace periods).
    expect(registry.reapIdle(Date.now() + 60_001)).toBe(1)
    await registry.closeAll()
    expect(isAlive(pid), 'closeAll resolved while a child of a reaped session was still running').toBe(false)
  })

  it('killAll kills every child at once', async () => {
    const { registry, pool } = openRegistry(fixtureCommand('ignore-sigterm-server'), {}, 1)
    pool.fill()
    const session = registry.create('streamable')
    await eventually(() => expect(pool.idle).toBe(1))
    const pids = fixtureProcesses()
    expect(pids).toHaveLength(2)
    registry.killAll()
    expect(await session.backend.exited).toMatchObject({ signal: 'SIGKILL', forced: true })
    await eventually(() => expect(pids.filter(isAlive)).toEqual([]))
  })
})
