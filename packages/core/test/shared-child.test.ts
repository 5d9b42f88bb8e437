import { afterEach, describe, expect, it } from 'vitest'
import {
  ErrorCode,
  errorResponse,
  ProxyError,
  SharedChild,
  type ChildCommand,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type RestartPolicy,
  type SharedChildOptions,
  type SharedChildState,
} from '../src/index.js'
import {
  MISSING_COMMAND,
  RecordingCaller,
  TEST_LIMITS,
  cleanup,
  errorOf,
  eventually,
  fixtureCommand,
  isAlive,
  logged,
  onCleanup,
  recordingLogger,
  request,
  sleep,
  textOf,
  toolCall,
} from './helpers.js'

afterEach(cleanup)

const FAST_RESTARTS: RestartPolicy = { initialDelayMs: 100, maxDelayMs: 400, crashLoopExits: 5, crashLoopWindowMs: 10_000 }
/** For restarts that keep failing: short delays, and never a crash loop (its delay is maxDelayMs anyway). */
const FAILING_RESTARTS: RestartPolicy = { initialDelayMs: 60, maxDelayMs: 120, crashLoopExits: 100, crashLoopWindowMs: 10_000 }

interface SharedSetup {
  restart?: Partial<RestartPolicy>
  initializeTimeoutMs?: number
  requestTimeoutMs?: number
}

/** A SharedChild over `command`; `startStates` lists its state each time it starts a child. */
function openShared(command: ChildCommand, setup: SharedSetup = {}) {
  const logger = recordingLogger()
  const options: SharedChildOptions = {
    child: { command, ...TEST_LIMITS, requestTimeoutMs: setup.requestTimeoutMs ?? TEST_LIMITS.requestTimeoutMs, logger },
    initializeTimeoutMs: setup.initializeTimeoutMs ?? 5000,
    restart: { ...FAST_RESTARTS, ...setup.restart },
    clientInfo: { name: 'mcp-proxy-tests', version: '0.0.0' },
    // Nobody to ask: the child's requests get an error, so a tool never waits.
    unrouted: (message, _text, upstream) => {
      if ('id' in message) upstream.respond(errorResponse(message.id, ErrorCode.MethodNotFound, 'no client'))
    },
    logger,
  }
  const shared = new SharedChild(options)
  const startStates: SharedChildState[] = []
  logger.info.mockImplementation((_obj, msg) => {
    if (msg === 'MCP server started') startStates.push(shared.state)
  })
  onCleanup(() => shared.close())
  const exitsLogged = (): number => logged(logger.warn).filter((msg) => /^The MCP server (exited|could not be started)/.test(msg)).length
  return { shared, logger, startStates, exitsLogged }
}

/** Send one request through the shared child for a fresh caller; resolves with its answer. */
function send(shared: SharedChild, message: JsonRpcRequest): Promise<JsonRpcResponse> {
  const caller = new RecordingCaller()
  shared.request(caller, message)
  return caller.response()
}

async function startFailure(shared: SharedChild): Promise<ProxyError> {
  const error = await shared.start().then(
    () => undefined,
    (reason: unknown) => reason,
  )
  expect(error).toBeInstanceOf(ProxyError)
  return error as ProxyError
}

describe('SharedChild start', () => {
  it('spawns and initializes the child, then serves requests of many callers', async () => {
    const { shared } = openShared(fixtureCommand('echo-server'))
    expect(shared.state).toBe('starting')
    await shared.start()
    expect(shared.state).toBe('up')
    expect(shared.initializeResult).toMatchObject({ protocolVersion: '2025-11-25', serverInfo: { name: 'echo-fixture' } })
    expect(isAlive(shared.pid!)).toBe(true)

    const [a, b] = await Promise.all([send(shared, toolCall(1, 'echo', { text: 'a' })), send(shared, toolCall(1, 'echo', { text: 'b' }))])
    expect([a.id, textOf(a), b.id, textOf(b)]).toEqual([1, 'a', 1, 'b'])
    // The proxy's own handshake is what the child saw.
    const whoami = JSON.parse(textOf(await send(shared, toolCall(2, 'whoami')))) as { clientInfo: { name: string } }
    expect(whoami.clientInfo.name).toBe('mcp-proxy-tests')
  })

  it('answers a request before start with an error saying it is not up', () => {
    const { shared } = openShared(fixtureCommand('echo-server'))
    const caller = new RecordingCaller()
    shared.request(caller, request(1, 'ping'))
    expect(caller.responses).toHaveLength(1)
    expect(errorOf(caller.responses[0])).toMatchObject({ code: ErrorCode.InternalError, message: expect.stringContaining('starting') })
  })

  it('rejects with MCP_PROXY_INITIALIZE_FAILED when the child never answers initialize', async () => {
    const { shared } = openShared(fixtureCommand('no-init-server'), { initializeTimeoutMs: 150, requestTimeoutMs: 150 })
    const error = await startFailure(shared)
    expect(error.code).toBe('MCP_PROXY_INITIALIZE_FAILED')
    expect(error.message).toMatch(/timed out/)
  })

  it('rejects with MCP_PROXY_INITIALIZE_FAILED when the command cannot be spawned', async () => {
    const { shared } = openShared(MISSING_COMMAND)
    const error = await startFailure(shared)
    expect(error.code).toBe('MCP_PROXY_INITIALIZE_FAILED')
    expect(error.message).toMatch(/could not be started/)
  })
})

describe('SharedChild initializeAnswer', () => {
  it('answers a client initialize from the shared handshake, under the client id', async () => {
    const { shared } = openShared(fixtureCommand('echo-server'))
    await shared.start()
    expect(shared.initializeAnswer('init-1', '2025-11-25')).toEqual({
      jsonrpc: '2.0',
      id: 'init-1',
      result: { ...shared.initializeResult, protocolVersion: '2025-11-25' },
    })
  })

  it('echoes the client version when it is supported and not newer than the child version', async () => {
    const { shared } = openShared(fixtureCommand('echo-server'))
    await shared.start()
    const versionFor = (asked: unknown): unknown => (shared.initializeAnswer(1, asked) as { result: { protocolVersion: unknown } }).result.protocolVersion
    expect(versionFor('2025-06-18')).toBe('2025-06-18')
    expect(versionFor('2024-11-05')).toBe('2024-11-05')
    expect(versionFor('2099-01-01')).toBe('2025-11-25')
    expect(versionFor(undefined)).toBe('2025-11-25')

    // A child that only speaks an older revision: a newer client version gets the child's.
    shared.initializeResult = { ...shared.initializeResult, protocolVersion: '2025-03-26' }
    expect(versionFor('2025-06-18')).toBe('2025-03-26')
    expect(versionFor('2024-11-05')).toBe('2024-11-05')
  })
})

describe('SharedChild restarts', () => {
  it('restarts a child that exits, with backoff: restarting, then up with a new process', async () => {
    const { shared, startStates } = openShared(fixtureCommand('crash-server'))
    await shared.start()
    const first = shared.pid!
    const crashed = await send(shared, toolCall(1, 'crash'))
    expect(errorOf(crashed).message).toMatch(/exited \(code 7\)/)

    // The state when each child was started: the restart happened in state 'restarting'.
    await eventually(() => expect(shared.state).toBe('up'))
    expect(startStates).toEqual(['starting', 'restarting'])
    expect(shared.pid).not.toBe(first)
    expect(isAlive(first)).toBe(false)
    expect(await send(shared, request(2, 'tools/list'))).toMatchObject({ id: 2, result: { tools: expect.any(Array) } })
  })

  it('reports a crash loop when crashLoopExits exits fall within the window, and refuses requests meanwhile', async () => {
    const { shared, logger, startStates } = openShared(fixtureCommand('crash-server'), {
      restart: { initialDelayMs: 40, maxDelayMs: 200, crashLoopExits: 2, crashLoopWindowMs: 10_000 },
    })
    await shared.start()
    await send(shared, toolCall(1, 'crash'))
    await eventually(() => expect(shared.state).toBe('up'))
    await send(shared, toolCall(2, 'crash'))
    await eventually(() => expect(shared.state).toBe('crash-looping'))

    expect(shared.recentExits).toBe(2)
    expect(logged(logger.error)).toContain('MCP server is crash-looping')
    const caller = new RecordingCaller()
    shared.request(caller, request(3, 'tools/list'))
    expect(errorOf(caller.responses[0]).message).toMatch(/crash-looping/)

    await eventually(() => expect(shared.state).toBe('up'))
    expect(startStates).toEqual(['starting', 'restarting', 'crash-looping'])
  })

  it('counts each exit once when a restart fails to initialize', async () => {
    const { shared, exitsLogged } = await failingRestarts()
    // The crash of the first child, then the exit of the restarted child that could not start.
    await eventually(() => expect(exitsLogged()).toBeGreaterThanOrEqual(2))
    expect(shared.recentExits).toBe(exitsLogged())
  })

  it('close() during failing restarts starts no child afterwards', async () => {
    const { shared, logger, exitsLogged } = await failingRestarts()
    await eventually(() => expect(exitsLogged()).toBeGreaterThanOrEqual(2))
    await shared.close()
    const startsAtClose = logged(logger.info).length
    await sleep(FAILING_RESTARTS.maxDelayMs + 150)
    expect(logged(logger.info).slice(startsAtClose)).not.toContain('MCP server started')
    expect(shared.state).toBe('stopped')
  })

  it('close() stops the child and the restarts for good', async () => {
    const { shared } = openShared(fixtureCommand('echo-server'))
    await shared.start()
    const pid = shared.pid!
    await shared.close()
    expect(shared.state).toBe('stopped')
    expect(isAlive(pid)).toBe(false)
    const caller = new RecordingCaller()
    shared.request(caller, request(1, 'ping'))
    expect(errorOf(caller.responses[0]).message).toMatch(/stopped/)
  })
})

/**
 * A shared child that starts fine, then crashes and is restarted with a command that cannot be spawned
 * (the command is swapped under it): every restart fails its initialize at once.
 */
async function failingRestarts() {
  const command = fixtureCommand('echo-server')
  const setup = openShared(command, { restart: FAILING_RESTARTS })
  await setup.shared.start()
  command.command = MISSING_COMMAND.command
  await send(setup.shared, toolCall(1, 'crash'))
  onCleanup(async () => {
    // A restart timer that escaped close() (the bug these tests look for) must not outlive the test.
    await sleep(FAILING_RESTARTS.maxDelayMs + 150)
    await setup.shared.close()
  })
  return setup
}
