// resolveOptions: one schema, validated once, every default filled in; invalid options fail with
// FST_MCP_PROXY_INVALID_OPTIONS (also when the plugin is registered with them).
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import mcpProxy, { FST_MCP_PROXY_INVALID_OPTIONS, isLoopback, resolveOptions, type McpProxyOptions } from '../src/index.js'
import { closeAfterTest } from './http-helpers.js'

function invalid(raw: unknown): Error & { code?: string } {
  try {
    resolveOptions(raw)
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error(`accepted: ${JSON.stringify(raw)}`)
}

describe('resolveOptions: invalid options', () => {
  const cases: Array<[string, unknown]> = [
    ['no options at all', undefined],
    ['not an object', 'node server.js'],
    ['command missing', { args: ['x'] }],
    ['command empty', { command: '' }],
    ['command not a string', { command: ['node'] }],
    ['negative maxBodySize', { command: 'node', maxBodySize: -1 }],
    ['zero maxBodySize', { command: 'node', maxBodySize: 0 }],
    ['fractional maxBodySize', { command: 'node', maxBodySize: 1.5 }],
    ['streamEndpoint not starting with /', { command: 'node', streamEndpoint: 'mcp' }],
    ['sseEndpoint not starting with /', { command: 'node', sseEndpoint: 'sse' }],
    ['messagesEndpoint not starting with /', { command: 'node', messagesEndpoint: 'messages' }],
    ['streamEndpoint true', { command: 'node', streamEndpoint: true }],
    ['args not strings', { command: 'node', args: [1] }],
    ['empty apiKey', { command: 'node', apiKey: '' }],
    ['maxSessions 0', { command: 'node', maxSessions: 0 }],
    ['negative sessionIdleTimeout', { command: 'node', sessionIdleTimeout: -5 }],
    ['warmChildren over 64', { command: 'node', warmChildren: 65 }],
    ['instanceId with a dot', { command: 'node', instanceId: 'a.b' }],
    ['instanceId over 32 characters', { command: 'node', instanceId: 'x'.repeat(33) }],
    ['empty instanceId', { command: 'node', instanceId: '' }],
    ['empty adminToken', { command: 'node', adminToken: '' }],
    ['negative drainTimeout', { command: 'node', drainTimeout: -1 }],
    ['sessionIdPrefix (replaced by instanceId)', { command: 'node', sessionIdPrefix: 'node-a.' }],
    ['drain not a DrainSwitch', { command: 'node', drain: { start() {} } }],
    ['allowedOrigins not an array', { command: 'node', allowedOrigins: 'http://localhost' }],
  ]
  for (const [name, raw] of cases) {
    it(`${name} → FST_MCP_PROXY_INVALID_OPTIONS`, () => {
      const error = invalid(raw)
      expect(error).toBeInstanceOf(FST_MCP_PROXY_INVALID_OPTIONS)
      expect(error.code).toBe('FST_MCP_PROXY_INVALID_OPTIONS')
      expect(error.message).toMatch(/^Invalid @proxy\/fastify-plugin options: /)
    })
  }

  it('the message names the offending option', () => {
    expect(invalid({ command: 'node', maxBodySize: -1 }).message).toContain('maxBodySize')
    expect(invalid({ command: 'node', streamEndpoint: 'mcp' }).message).toContain('streamEndpoint')
  })

  it('registering the plugin with invalid options fails the boot with the same code', async () => {
    const app = closeAfterTest(Fastify({ logger: false }))
    const boot = async (): Promise<void> => {
      // Deliberately wrong at runtime (as from an untyped config file).
      await app.register(mcpProxy, JSON.parse('{"command":"node","maxBodySize":-1}') as McpProxyOptions)
      await app.ready()
    }
    const error = await boot().then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    )
    expect(error).toBeInstanceOf(FST_MCP_PROXY_INVALID_OPTIONS)
    expect(error?.code).toBe('FST_MCP_PROXY_INVALID_OPTIONS')
  })
})

describe('resolveOptions: defaults', () => {
  it('fills in every default', () => {
    const o = resolveOptions({ command: 'node' })
    expect(o.command).toEqual({ command: 'node', args: [], shell: false })
    expect(o.command).not.toHaveProperty('cwd')
    expect(o).toMatchObject({
      env: {},
      inheritEnv: true,
      streamEndpoint: '/mcp',
      sseEndpoint: '/sse',
      messagesEndpoint: '/messages',
      stateless: false,
      jsonResponse: false,
      apiKeys: [],
      oauth: undefined,
      childEnvFromClaims: {},
      maxBodySize: 10 * 1024 * 1024,
      bodyTimeout: 30_000,
      maxSessions: 32,
      sessionIdleTimeout: 5 * 60_000,
      maxLineLength: 128 * 1024 * 1024,
      roots: { mode: 'forward' },
      eventStoreMaxEvents: 1000,
      warmChildren: 1,
      instanceId: undefined,
      drainTimeout: 30_000,
      adminToken: undefined,
    })
  })

  it('loopback host (default 127.0.0.1) → loopback origins and loopback hosts only', () => {
    const o = resolveOptions({ command: 'node' })
    expect(o.allowedOrigins).toBeInstanceOf(Set)
    expect([...(o.allowedOrigins ?? [])].sort()).toEqual(
      ['http://localhost', 'http://127.0.0.1', 'http://[::1]', 'https://localhost', 'https://127.0.0.1', 'https://[::1]'].sort(),
    )
    expect(o.allowedHosts).toBeInstanceOf(Set)
    expect(o.allowedHosts?.has('localhost')).toBe(true)
    expect(o.allowedHosts?.has('127.0.0.1')).toBe(true)
    expect(o.allowedHosts?.has('[::1]')).toBe(true)
    expect(o.allowedHosts?.has('evil.example.com')).toBe(false)
    for (const host of ['localhost', '::1', '[::1]', '127.0.0.2']) {
      expect(resolveOptions({ command: 'node', host }).allowedOrigins?.size, host).toBe(6)
    }
  })

  it('non-loopback host → no origins allowed, any host', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'mcp.example.com']) {
      const o = resolveOptions({ command: 'node', host })
      expect(o.allowedOrigins, host).toBeInstanceOf(Set)
      expect(o.allowedOrigins?.size, host).toBe(0)
      expect(o.allowedHosts, host).toBeUndefined()
    }
  })

  it("explicit lists win over the defaults, are lower-cased, and '*' means any", () => {
    const o = resolveOptions({ command: 'node', host: '0.0.0.0', allowedOrigins: ['https://App.Example.com'], allowedHosts: ['MCP.example.com'] })
    expect([...(o.allowedOrigins ?? [])]).toEqual(['https://app.example.com'])
    expect([...(o.allowedHosts ?? [])]).toEqual(['mcp.example.com'])
    const any = resolveOptions({ command: 'node', allowedOrigins: ['*'], allowedHosts: ['localhost', '*'] })
    expect(any.allowedOrigins).toBeUndefined()
    expect(any.allowedHosts).toBeUndefined()
  })

  it('keeps given values, including disabled endpoints', () => {
    const o = resolveOptions({ command: 'npx', args: ['-y', 'server'], cwd: '/tmp', shell: true, streamEndpoint: false, sseEndpoint: false, maxBodySize: 1024, apiKey: 'k' })
    expect(o.command).toEqual({ command: 'npx', args: ['-y', 'server'], cwd: '/tmp', shell: true })
    expect(o.streamEndpoint).toBe(false)
    expect(o.sseEndpoint).toBe(false)
    expect(o.maxBodySize).toBe(1024)
    expect(o.apiKeys).toEqual(['k'])
  })

  it('ignores the keys Fastify adds to plugin options (prefix)', () => {
    expect(resolveOptions({ command: 'node', prefix: '/proxy' }).streamEndpoint).toBe('/mcp')
  })
})

describe('isLoopback', () => {
  it('recognises loopback bind addresses', () => {
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]']) expect(isLoopback(host), host).toBe(true)
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '']) expect(isLoopback(host), host).toBe(false)
  })
})

describe('resolveOptions: roots', () => {
  it("defaults to 'forward' on a loopback host and to 'deny' on any other", () => {
    expect(resolveOptions({ command: 'node' }).roots).toEqual({ mode: 'forward' })
    expect(resolveOptions({ command: 'node', host: '::1' }).roots).toEqual({ mode: 'forward' })
    for (const host of ['0.0.0.0', '::', '10.0.0.1']) expect(resolveOptions({ command: 'node', host }).roots, host).toEqual({ mode: 'deny' })
  })

  it("'forward' and 'deny' are kept whatever the host", () => {
    expect(resolveOptions({ command: 'node', host: '0.0.0.0', roots: 'forward' }).roots).toEqual({ mode: 'forward' })
    expect(resolveOptions({ command: 'node', roots: 'deny' }).roots).toEqual({ mode: 'deny' })
  })

  it('fixed roots become core roots named by the last path segment', () => {
    const o = resolveOptions({ command: 'node', roots: { fixed: ['file:///home/me/project', 'file:///data/', 'file:///srv/my%20files', 'file:///'] } })
    expect(o.roots).toEqual({
      mode: 'fixed',
      roots: [
        { uri: 'file:///home/me/project', name: 'project' },
        { uri: 'file:///data/', name: 'data' },
        { uri: 'file:///srv/my%20files', name: 'my files' },
        { uri: 'file:///' },
      ],
    })
    expect(resolveOptions({ command: 'node', roots: { fixed: [] } }).roots).toEqual({ mode: 'fixed', roots: [] })
  })

  it('a fixed root that is not a URI, or another mode, fails with FST_MCP_PROXY_INVALID_OPTIONS naming it', () => {
    const notUri = invalid({ command: 'node', roots: { fixed: ['file:///ok', 'relative/dir'] } })
    expect(notUri).toBeInstanceOf(FST_MCP_PROXY_INVALID_OPTIONS)
    expect(notUri.message).toContain('/roots/fixed/1')
    expect(notUri.message).toContain("'relative/dir'")
    for (const roots of ['allow', 'fixed', { fixed: 'file:///a' }, { fixed: [1] }, true]) {
      expect(invalid({ command: 'node', roots }), JSON.stringify(roots)).toBeInstanceOf(FST_MCP_PROXY_INVALID_OPTIONS)
    }
  })
})

describe('resolveOptions: bodyTimeout', () => {
  it('takes milliseconds, 0 = no limit; negative is invalid', () => {
    expect(resolveOptions({ command: 'node', bodyTimeout: 0 }).bodyTimeout).toBe(0)
    expect(resolveOptions({ command: 'node', bodyTimeout: 500 }).bodyTimeout).toBe(500)
    expect(invalid({ command: 'node', bodyTimeout: -1 })).toBeInstanceOf(FST_MCP_PROXY_INVALID_OPTIONS)
  })
})
