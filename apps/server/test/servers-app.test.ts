// The proxy's own routes in --config mode, built in-process (buildServersApp) with real children: the
// readiness of every server asked with a Host its guard allows, the Host/Origin guard on /servers, the
// details of /servers behind the API key, and POST /drain with the admin token draining every server,
// after which a reload starts nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { readConfig } from '../src/config-file/read-config.js'
import { buildServersApp, entryOptions, type ServersApp } from '../src/multi/build-servers-app.js'
import { parseArgs, type RunConfig } from '../src/parse-args.js'
import { ECHO } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'servers-app-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const built: ServersApp[] = []
afterEach(async () => {
  await Promise.all(built.splice(0).map(({ app }) => app.close()))
})

/** The config file of two echo servers and one that cannot start, and the proxy built from it with `flags`. */
async function servers(flags: string[]): Promise<FastifyInstance> {
  const file = join(dir, `servers-${built.length}.json`)
  writeFileSync(file, JSON.stringify({ mcpServers: { a: { command: process.execPath, args: [ECHO] }, b: { command: process.execPath, args: [ECHO] }, broken: { command: '/no/such/command' } } }))
  const parsed = parseArgs(['--config', file, '--quiet', '--log-format', 'json', ...flags], {})
  if (parsed.action !== 'run') throw new Error('not a run')
  const config: RunConfig = parsed.config
  const app = await buildServersApp(config, readConfig(file, {}), false)
  built.push(app)
  await app.app.ready()
  return app.app
}

describe('--config: the proxy\'s own routes', () => {
  it('/ready asks each server with a Host its guard allows: ready with --allowed-hosts that lack localhost', async () => {
    const app = await servers(['--allowed-hosts', 'mcp.example.com,127.0.0.1'])
    const ready = await app.inject({ method: 'GET', url: '/ready', headers: { host: 'mcp.example.com' } })
    expect(ready.statusCode, ready.body).toBe(200)
    expect(ready.json()).toEqual({ status: 'ready', servers: { ready: 2, total: 3 } })
    const listed = (await app.inject({ method: 'GET', url: '/servers', headers: { host: '127.0.0.1' } })).json() as { servers: Array<{ name: string; health?: { status: string } }> }
    expect(listed.servers.find((s) => s.name === 'a')?.health?.status).toBe('ready')
  })

  it('/servers is behind the Host/Origin guard; its health and start errors only with the API key', async () => {
    const app = await servers(['--api-key', 'k1'])
    expect((await app.inject({ method: 'GET', url: '/servers', headers: { host: 'evil.example' } })).statusCode).toBe(403)
    expect((await app.inject({ method: 'GET', url: '/servers', headers: { origin: 'http://evil.example' } })).statusCode).toBe(403)
    const anonymous = (await app.inject({ method: 'GET', url: '/servers' })).json() as { servers: Array<Record<string, unknown>> }
    expect(anonymous.servers.map((s) => [s.name, s.status])).toEqual([['a', 'ready'], ['b', 'ready'], ['broken', 'failed']])
    expect(anonymous.servers.some((s) => 'health' in s || 'error' in s)).toBe(false)
    const keyed = (await app.inject({ method: 'GET', url: '/servers', headers: { 'x-api-key': 'k1' } })).json() as { servers: Array<Record<string, unknown>> }
    expect(keyed.servers.find((s) => s.name === 'broken')?.error).toMatch(/\/no\/such\/command/)
    expect(keyed.servers.find((s) => s.name === 'a')?.health).toMatchObject({ status: 'ready', name: 'a' })
  })

  it('POST /drain with the admin token drains every server (/ready 503 draining); a reload then starts nothing', async () => {
    const app = await servers(['--admin-token', 'adm-token'])
    expect((await app.inject({ method: 'POST', url: '/drain' })).statusCode).toBe(401)
    expect((await app.inject({ method: 'POST', url: '/drain', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401)
    const drain = await app.inject({ method: 'POST', url: '/drain', headers: { authorization: 'Bearer adm-token' } })
    expect(drain.statusCode).toBe(202)
    expect(drain.json()).toEqual({ status: 'draining', started: true })
    const ready = await app.inject({ method: 'GET', url: '/ready' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toMatchObject({ status: 'draining' })
    const { servers: set, reload } = built.at(-1)!
    await reload()
    expect((await set.list()).map((s) => s.name)).toEqual(['a', 'b', 'broken'])
  })

  it('--resource-url is the public base: each server is its own resource, unless its x-mcp-proxy names one', () => {
    const file = join(dir, 'oauth.json')
    writeFileSync(file, JSON.stringify({ mcpServers: { a: { command: 'x' }, b: { command: 'y', 'x-mcp-proxy': { oauth: { issuer: 'https://id.example.com', resourceUrl: 'https://b.example.com/mcp' } } } } }))
    const parsed = parseArgs(['--config', file, '--oauth-issuer', 'https://id.example.com', '--resource-url', 'https://mcp.example.com/'], {})
    if (parsed.action !== 'run') throw new Error('not a run')
    const [a, b] = readConfig(file, {}).servers
    expect(entryOptions(parsed.config, file, a!).oauth).toMatchObject({ issuer: 'https://id.example.com', resourceUrl: 'https://mcp.example.com/servers/a/mcp' })
    expect(entryOptions(parsed.config, file, b!).oauth).toMatchObject({ resourceUrl: 'https://b.example.com/mcp' })
  })
})
