// The CLI side of the hardening: --body-timeout and --roots (flags, variables, usage errors), the new
// defaults in --help, and Fastify set up so that the plugin answers during shutdown (JSON-RPC 503s).
import { describe, expect, it } from 'vitest'
import { serverOptions } from '../src/build-app.js'
import { helpText } from '../src/help.js'
import { run, usage } from './parse-helpers.js'

describe('--body-timeout', () => {
  it('is passed to the plugin from the flag, its alias or MCP_PROXY_BODY_TIMEOUT; the default is 30 s', () => {
    expect(run(['--body-timeout', '5000', '--', 'x']).resolved.bodyTimeout).toBe(5000)
    expect(run(['--bodyTimeout=0', '--', 'x']).plugin.bodyTimeout).toBe(0)
    expect(run(['--', 'x'], { MCP_PROXY_BODY_TIMEOUT: '1234' }).plugin.bodyTimeout).toBe(1234)
    expect(run(['--', 'x']).plugin).not.toHaveProperty('bodyTimeout')
    expect(run(['--', 'x']).resolved.bodyTimeout).toBe(30_000)
    expect(usage(['--body-timeout', 'soon', '--', 'x'])).toBe("--body-timeout takes a whole number, not 'soon'")
  })
})

describe('--roots', () => {
  it('forward and deny are passed as is; the default follows the bind address', () => {
    expect(run(['--roots', 'deny', '--', 'x']).resolved.roots).toEqual({ mode: 'deny' })
    expect(run(['--roots=forward', '--host', '0.0.0.0', '--', 'x']).resolved.roots).toEqual({ mode: 'forward' })
    expect(run(['--', 'x']).resolved.roots).toEqual({ mode: 'forward' })
    expect(run(['--host', '0.0.0.0', '--', 'x']).resolved.roots).toEqual({ mode: 'deny' })
    expect(run(['--', 'x']).plugin).not.toHaveProperty('roots')
  })

  it('fixed:<uri,…> becomes fixed roots named by their last path segment, also from MCP_PROXY_ROOTS', () => {
    const c = run(['--roots', 'fixed:file:///data, file:///srv/projects/', '--', 'x'])
    expect(c.plugin.roots).toEqual({ fixed: ['file:///data', 'file:///srv/projects/'] })
    expect(c.resolved.roots).toEqual({
      mode: 'fixed',
      roots: [
        { uri: 'file:///data', name: 'data' },
        { uri: 'file:///srv/projects/', name: 'projects' },
      ],
    })
    expect(run(['--', 'x'], { MCP_PROXY_ROOTS: 'fixed:file:///home/me' }).resolved.roots).toEqual({ mode: 'fixed', roots: [{ uri: 'file:///home/me', name: 'me' }] })
  })

  it('anything else is a usage error naming the flag (or the variable)', () => {
    expect(usage(['--roots', 'allow', '--', 'x'])).toBe("--roots takes forward, deny or fixed:<uri,…>, not 'allow'")
    expect(usage(['--', 'x'], { MCP_PROXY_ROOTS: 'Forward' })).toBe("MCP_PROXY_ROOTS takes forward, deny or fixed:<uri,…>, not 'Forward'")
    expect(usage(['--roots', 'fixed:', '--', 'x'])).toMatch(/^--roots fixed: needs at least one URI/)
    expect(usage(['--roots', 'fixed:file:///ok,not a uri', '--', 'x'])).toBe("--roots must be a URI (file:///path), not 'not a uri'")
    expect(usage(['--', 'x'], { MCP_PROXY_ROOTS: 'fixed:/relative' })).toBe("MCP_PROXY_ROOTS must be a URI (file:///path), not '/relative'")
  })
})

describe('defaults shown by --help', () => {
  it('names the new defaults: 10 MiB bodies, 32 sessions, 5 min idle, 128 Mi-character lines, 30 s body timeout', () => {
    const help = helpText()
    expect(help).toMatch(/--max-body-size, --maxBodySize BYTES\n[^\n]*\n?[^\n]*default: 10485760/)
    expect(help).toContain('default: 32;')
    expect(help).toContain('default: 300000;')
    expect(help).toContain('default: 134217728;')
    expect(help).toContain('default: 30000; MCP_PROXY_BODY_TIMEOUT')
    expect(help).toContain('--roots forward|deny|fixed:URI,…')
    expect(help).toContain('MCP_PROXY_ROOTS')
  })
})

describe('Fastify options of the CLI', () => {
  it('leave shutdown answers to the plugin (return503OnClosing: false)', async () => {
    const options = await serverOptions({ ...run(['--log-format', 'json', '--', 'x']) })
    expect(options.return503OnClosing).toBe(false)
  })
})
