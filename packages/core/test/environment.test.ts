import { describe, expect, it } from 'vitest'
import { buildChildEnvironment, isProxySetting } from '../src/index.js'

describe('buildChildEnvironment', () => {
  it('keeps the base environment', () => {
    expect(buildChildEnvironment({ base: { PATH: '/bin', LANG: 'C' } })).toEqual({ PATH: '/bin', LANG: 'C' })
  })

  it('drops the proxy own MCP_PROXY_* settings by default', () => {
    const env = buildChildEnvironment({ base: { PATH: '/bin', MCP_PROXY_API_KEY: 'k', MCP_PROXY_PORT: '3000', MY_MCP_PROXY: 'kept' } })
    expect(env).toEqual({ PATH: '/bin', MY_MCP_PROXY: 'kept' })
  })

  it('drops every variable whose value is a secret, whatever its name', () => {
    const env = buildChildEnvironment({
      base: { TOKEN: 's3cret', COPY_OF_TOKEN: 's3cret', NOT_SECRET: 's3cret-but-longer' },
      secrets: ['s3cret'],
    })
    expect(env).toEqual({ NOT_SECRET: 's3cret-but-longer' })
  })

  it('ignores an empty secret (it would drop every empty variable)', () => {
    expect(buildChildEnvironment({ base: { EMPTY: '', A: 'a' }, secrets: [''] })).toEqual({ EMPTY: '', A: 'a' })
  })

  it('skips undefined values of the base', () => {
    expect(buildChildEnvironment({ base: { A: 'a', B: undefined } })).toEqual({ A: 'a' })
  })

  it('adds the extra entries, which win over the base and are kept even when they look like proxy settings', () => {
    const env = buildChildEnvironment({
      base: { A: 'from base', MCP_PROXY_X: 'dropped' },
      extra: { A: 'from extra', MCP_PROXY_X: 'asked for', B: 'b' },
    })
    expect(env).toEqual({ A: 'from extra', MCP_PROXY_X: 'asked for', B: 'b' })
  })

  it('uses a custom deny list instead of the default', () => {
    const env = buildChildEnvironment({ base: { AWS_KEY: 'x', MCP_PROXY_X: 'y', PATH: '/bin' }, deny: (name) => name.startsWith('AWS_') })
    expect(env).toEqual({ MCP_PROXY_X: 'y', PATH: '/bin' })
  })

  it('never changes the base it is given', () => {
    const base = { A: 'a', MCP_PROXY_X: 'y' }
    buildChildEnvironment({ base, extra: { B: 'b' } })
    expect(base).toEqual({ A: 'a', MCP_PROXY_X: 'y' })
  })
})

describe('isProxySetting', () => {
  it('names the MCP_PROXY_ prefix only, case-sensitively', () => {
    expect(isProxySetting('MCP_PROXY_API_KEY')).toBe(true)
    expect(isProxySetting('MCP_PROXY')).toBe(false)
    expect(isProxySetting('mcp_proxy_api_key')).toBe(false)
    expect(isProxySetting('X_MCP_PROXY_Y')).toBe(false)
  })
})
