import { afterEach, describe, expect, it } from 'vitest'
import { buildChildEnvironment, type ChildCommand, type JsonRpcMessage } from '../src/index.js'
import {
  MISSING_COMMAND,
  call,
  cleanup,
  eventually,
  fixtureCommand,
  fixturePath,
  isAlive,
  isRunning,
  onCleanup,
  request,
  startChild,
  startUpstream,
  textOf,
  toolCall,
} from './helpers.js'

afterEach(cleanup)

const line = (message: unknown): string => JSON.stringify(message)

describe('StdioChild environment', () => {
  const SECRET = 'sk-test-4f1c2b9e'

  function childEnvironment(): Record<string, string> {
    return buildChildEnvironment({
      base: {
        PATH: process.env.PATH,
        MCP_PROXY_API_KEY: 'proxy-own-setting',
        UPSTREAM_TOKEN: SECRET,
        PLAIN: 'plain value',
      },
      extra: { ADDED_BY_USER: 'added' },
      secrets: [SECRET],
    })
  }

  /** Spawns the echo fixture with `env`; returns a function asking it for one variable (its `env` tool). */
  function childWith(env: Record<string, string>): (name: string) => Promise<string> {
    const backend = startUpstream({ command: process.execPath, args: [fixturePath('echo-server')], env })
    let id = 0
    return async (name) => textOf(await call(backend, toolCall(++id, 'env', { name })))
  }

  it('never lets the secrets and the proxy settings reach the child', async () => {
    const envOf = childWith(childEnvironment())
    expect(await envOf('UPSTREAM_TOKEN')).toBe('<unset>')
    expect(await envOf('MCP_PROXY_API_KEY')).toBe('<unset>')
  })

  it('passes the kept and the extra variables, and nothing of the parent environment besides', async () => {
    const envOf = childWith(childEnvironment())
    expect(await envOf('PLAIN')).toBe('plain value')
    expect(await envOf('ADDED_BY_USER')).toBe('added')
    const parentOnly = process.env.HOME === undefined ? 'USER' : 'HOME'
    expect(process.env[parentOnly]).toBeDefined()
    expect(await envOf(parentOnly)).toBe('<unset>')
  })
})

describe('StdioChild output', () => {
  it('delivers JSON messages from stdout', async () => {
    const { child, values } = startChild(fixtureCommand('echo-server'))
    expect(child.send(line(request('p', 'ping')))).toBe(true)
    await eventually(() => expect(values).toEqual([{ jsonrpc: '2.0', id: 'p', result: {} }]))
  })

  it('reads stderr line by line', async () => {
    const { child, stderr } = startChild(fixtureCommand('echo-server'))
    child.send(line(toolCall(1, 'stderr', { text: 'first line\nsecond line' })))
    await eventually(() => expect(stderr).toEqual(expect.arrayContaining(['first line', 'second line'])))
    expect(stderr[0]).toBe(`ready echo-server pid=${String(child.pid)}`)
  })

  it('reports noise on stdout instead of delivering it', async () => {
    const { child, values, noise } = startChild(fixtureCommand('noisy-server'))
    child.send(line(toolCall(1, 'echo', { text: 'through the noise' })))
    await eventually(() => expect(values).toHaveLength(1))
    expect(textOf(values[0] as JsonRpcMessage)).toBe('through the noise')
    expect(noise.map((event) => event.reason)).toEqual(expect.arrayContaining(['not-json', 'prefix-trimmed']))
  })
})

describe('StdioChild exit', () => {
  it('resolves started once the process runs', async () => {
    const { child } = startChild(fixtureCommand('echo-server'))
    await expect(child.started).resolves.toBeUndefined()
    expect(child.alive).toBe(true)
    expect(isAlive(child.pid!)).toBe(true)
  })

  it('reports the exit code and the last stderr lines of a child that crashes', async () => {
    const { child, exits } = startChild(fixtureCommand('crash-server'))
    child.send(line(toolCall(1, 'echo', { text: 'x' })))
    const exit = await child.exited
    expect(exit).toMatchObject({ code: 7, signal: null, forced: false })
    expect(exit.spawnError).toBeUndefined()
    expect(exit.lastStderr).toContain('about to crash')
    expect(exits).toEqual([exit])
    expect(child.alive).toBe(false)
  })

  it('reports the signal of a child killed from outside', async () => {
    const { child, ready } = startChild(fixtureCommand('echo-server'))
    await ready
    process.kill(child.pid!, 'SIGKILL')
    expect(await child.exited).toMatchObject({ code: null, signal: 'SIGKILL', forced: false })
  })

  it('reports a command that cannot be spawned as a spawnError, without throwing or rejecting', async () => {
    const rejections: unknown[] = []
    const onRejection = (reason: unknown): void => void rejections.push(reason)
    process.on('unhandledRejection', onRejection)
    onCleanup(() => process.off('unhandledRejection', onRejection))

    const { child, exits } = startChild(MISSING_COMMAND)
    const exit = await child.exited
    expect(exit).toMatchObject({ code: null, signal: null, forced: false })
    expect(exit.spawnError).toMatch(/ENOENT/)
    await expect(child.started).rejects.toMatchObject({ code: 'MCP_PROXY_SPAWN_FAILED' })
    expect(await child.stop()).toBe(exit)
    expect(child.send('{}')).toBe(false)
    expect(child.pid).toBeUndefined()
    // Let any stray rejection or late 'exit' surface before checking.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(exits).toEqual([exit])
    expect(rejections).toEqual([])
  })

  it('refuses to send once the child has exited', async () => {
    const { child } = startChild(fixtureCommand('echo-server'))
    await child.stop()
    expect(child.send(line(request(1, 'ping')))).toBe(false)
  })

  it('refuses to send once a child stops reading and maxQueuedBytes wait in its stdin', async () => {
    // The slow-start fixture reads nothing for a minute: the pipe fills, then stdin's queue grows.
    const { child } = startChild(fixtureCommand('slow-start-server', { FIXTURE_START_DELAY_MS: '60000' }), { maxQueuedBytes: 100_000 })
    const chunk = line(toolCall(1, 'echo', { text: 'x'.repeat(50_000) }))
    let accepted = 0
    while (child.send(chunk)) {
      accepted++
      expect(accepted).toBeLessThan(100)
    }
    expect(accepted).toBeGreaterThan(1)
  })
})

describe('StdioChild stop ladder', () => {
  it('ends stdin, and a child that exits on stdin end needs no signal', async () => {
    const { child, ready } = startChild(fixtureCommand('echo-server'))
    await ready
    expect(await child.stop()).toMatchObject({ code: 0, signal: null, forced: false })
    expect(isAlive(child.pid!)).toBe(false)
  })

  it('sends no signal at all to a child that exits on stdin end (cat would die of SIGTERM)', async () => {
    const { child } = startChild({ command: 'cat', args: [], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } })
    await child.started
    expect(await child.stop()).toMatchObject({ code: 0, signal: null, forced: false })
  })

  it('sends SIGTERM to a child that stays alive after stdin end', async () => {
    const { child, ready } = startChild(fixtureCommand('hang-server'))
    await ready
    // hang-server exits 0 on SIGTERM: the second rung, not forced.
    expect(await child.stop()).toMatchObject({ code: 0, signal: null, forced: false })
    expect(isAlive(child.pid!)).toBe(false)

    const { child: sleeper } = startChild({ command: 'sleep', args: ['30'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } })
    await sleeper.started
    expect(await sleeper.stop()).toMatchObject({ code: null, signal: 'SIGTERM', forced: false })
  })

  it('ends with SIGKILL for a child that ignores SIGTERM and stdin end', async () => {
    const { child, ready, stderr } = startChild(fixtureCommand('ignore-sigterm-server'))
    await ready
    const exit = await child.stop()
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL', forced: true })
    expect(stderr).toContain('ignoring SIGTERM')
    expect(isAlive(child.pid!)).toBe(false)
  })

  it('returns the same exit to concurrent stop() calls', async () => {
    const { child } = startChild(fixtureCommand('echo-server'))
    const [first, second] = await Promise.all([child.stop(), child.stop()])
    expect(second).toBe(first)
  })

  it('kill() stops the child at once with SIGKILL', async () => {
    const { child, ready } = startChild(fixtureCommand('ignore-sigterm-server'))
    await ready
    child.kill()
    expect(await child.exited).toMatchObject({ signal: 'SIGKILL', forced: true })
  })

  it('leaves no process of the group behind when the direct child is a wrapper (sh -c)', async () => {
    // The wrapper shell dies of SIGTERM; the server under it ignores SIGTERM. The group must still go.
    // stopGraceMs is above StdioChild's 200 ms wait for stdout to drain, so the shell's exit is seen in time
    // (else the ladder goes on to SIGKILL the group, and the test passes without showing anything).
    const command: ChildCommand = {
      command: '/bin/sh',
      args: ['-c', '"$0" "$1"; exit 0', process.execPath, fixturePath('ignore-sigterm-server')],
      env: { ...(process.env as Record<string, string>) },
    }
    const { child, stderr } = startChild(command, { stopGraceMs: 300 })
    const readyLine = await eventually(() => {
      const found = stderr.find((text) => text.startsWith('ready ignore-sigterm-server pid='))
      if (!found) throw new Error('server not ready')
      return found
    })
    const serverPid = Number(readyLine.split('pid=')[1])
    onCleanup(() => {
      try {
        process.kill(serverPid, 'SIGKILL')
      } catch {
        // gone: the expected case
      }
    })

    await child.stop()
    expect(isAlive(child.pid!)).toBe(false)
    await eventually(() => expect(isRunning(serverPid), 'the server under the wrapper shell is still running').toBe(false), 500)
  })
})
