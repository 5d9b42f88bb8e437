import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ChildPool, type ChildCommand, type ChildUpstream } from '../src/index.js'
import {
  MISSING_COMMAND,
  call,
  childOptions,
  cleanup,
  eventually,
  fixtureCommand,
  fixturePath,
  fixtureProcesses,
  initializeRequest,
  isAlive,
  logged,
  onCleanup,
  recordingLogger,
} from './helpers.js'

afterEach(cleanup)

function openPool(size: number, command: ChildCommand = fixtureCommand('echo-server')) {
  const logger = recordingLogger()
  const pool = new ChildPool(childOptions(command, { shared: false, logger }), size)
  onCleanup(() => pool.close())
  const spawned = (): number => logged(logger.info).filter((msg) => msg === 'MCP server started').length
  /** Take a child for a session; it is the test's to stop. */
  const take = (): ChildUpstream => {
    const child = pool.take(recordingLogger())
    onCleanup(() => child.stop())
    return child
  }
  return { pool, spawned, take }
}

describe('ChildPool', () => {
  it('fill() pre-spawns size children, and never more however often it is called', () => {
    const { pool, spawned } = openPool(2)
    pool.fill()
    pool.fill()
    expect(pool.idle).toBe(2)
    expect(spawned()).toBe(2)
    expect(fixtureProcesses()).toHaveLength(2)
  })

  it('take() hands out a pre-spawned, started child and refills in the background', async () => {
    const { pool, spawned, take } = openPool(2)
    pool.fill()
    const pooled = fixtureProcesses()
    const child = take()
    expect(pooled).toContain(child.child.pid)
    expect(pool.idle).toBe(1)
    expect(await call(child, initializeRequest(1))).toMatchObject({ id: 1, result: { serverInfo: { name: 'echo-fixture' } } })
    await eventually(() => expect(pool.idle).toBe(2))
    expect(spawned()).toBe(3)
  })

  it('spawns a fresh child when empty, and never keeps more than size idle after many takes', async () => {
    const { pool, spawned, take } = openPool(2)
    pool.fill()
    take()
    take()
    take() // the pool is empty now: a fresh child
    expect(spawned()).toBe(3)
    await eventually(() => expect(pool.idle).toBe(2))
    await new Promise((resolve) => setImmediate(resolve))
    expect(pool.idle).toBe(2)
    expect(spawned()).toBe(5)
  })

  it('with size 0 spawns on take() and keeps nothing in reserve', async () => {
    const { pool, spawned, take } = openPool(0)
    pool.fill()
    expect(pool.idle).toBe(0)
    const child = take()
    expect(await call(child, initializeRequest(1))).toMatchObject({ id: 1 })
    expect(pool.idle).toBe(0)
    expect(spawned()).toBe(1)
  })

  it('never hands out a pooled child that died while waiting', async () => {
    const { pool, take } = openPool(1)
    pool.fill()
    const [dead] = fixtureProcesses()
    process.kill(dead!, 'SIGKILL')
    await eventually(() => expect(isAlive(dead!)).toBe(false))
    await eventually(() => expect(pool.idle).toBe(0))
    const child = take()
    expect(child.child.pid).not.toBe(dead)
    expect(await call(child, initializeRequest(1))).toMatchObject({ id: 1 })
  })

  it('close() stops every pooled child, and fill() does nothing afterwards', async () => {
    const { pool } = openPool(2)
    pool.fill()
    const pids = fixtureProcesses()
    await pool.close()
    expect(pids.filter(isAlive)).toEqual([])
    pool.fill()
    expect(pool.idle).toBe(0)
  })

  it('started() resolves once the first pooled child runs', async () => {
    const { pool } = openPool(1)
    pool.fill()
    await expect(pool.started()).resolves.toBeUndefined()
  })

  it('records a command that cannot be spawned, without respawning it', async () => {
    const { pool, spawned } = openPool(1, MISSING_COMMAND)
    pool.fill()
    await expect(pool.started()).rejects.toMatchObject({ code: 'MCP_PROXY_SPAWN_FAILED' })
    await eventually(() => expect(pool.lastSpawnError).toMatch(/ENOENT/))
    expect(pool.idle).toBe(0)
    expect(spawned()).toBe(1)
  })

  it('keeps the last spawn error when a child started earlier exits later (readiness follows the last spawn)', async () => {
    // A server script that vanishes after the first start: the next spawn fails, and the session's
    // child that was fine stopping later must not make the proxy look ready again.
    const dir = mkdtempSync(join(tmpdir(), 'pool-'))
    onCleanup(() => rmSync(dir, { recursive: true, force: true }))
    const script = join(dir, 'server')
    writeFileSync(script, `#!/bin/sh\nexec "${process.execPath}" "${fixturePath('echo-server')}"\n`, { mode: 0o755 })
    const { pool, take } = openPool(0, { command: script, args: [], env: {} })
    const first = take()
    await first.child.started
    rmSync(script)
    const second = take()
    await expect(second.child.started).rejects.toMatchObject({ code: 'MCP_PROXY_SPAWN_FAILED' })
    await eventually(() => expect(pool.lastSpawnError).toMatch(/ENOENT/))
    await first.stop()
    expect(pool.lastSpawnError).toMatch(/ENOENT/)
  })
})
