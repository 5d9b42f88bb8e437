import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach } from 'vitest'
import mcpProxy, { type McpProxyOptions } from '../src/index.js'

/** Absolute path of a fixture server. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../../../fixtures/${name}.mjs`, import.meta.url))
}

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

/** A Fastify app with the proxy registered in front of a fixture; closed after the test. */
export async function buildApp(
  options: Partial<McpProxyOptions> & { fixture?: string } = {},
  register?: (app: FastifyInstance) => void | Promise<void>,
): Promise<FastifyInstance> {
  const { fixture: name = 'echo-server', ...rest } = options
  // forceCloseConnections: a keep-alive socket the client opened but never used would hold close() for seconds.
  const app = Fastify({ logger: false, forceCloseConnections: true })
  apps.push(app)
  await app.register(mcpProxy, { command: process.execPath, args: [fixture(name)], stopGrace: 200, ...rest })
  await register?.(app)
  await app.ready()
  return app
}

/** Listen on 127.0.0.1 with a free port; returns the base URL. */
export async function listenOn(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('not listening')
  return `http://127.0.0.1:${address.port}`
}

/** The same, listening on 127.0.0.1 with a free port; returns the base URL. */
export async function listen(
  options: Partial<McpProxyOptions> & { fixture?: string } = {},
  register?: (app: FastifyInstance) => void | Promise<void>,
): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildApp(options, register)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('not listening')
  return { app, base: `http://127.0.0.1:${address.port}` }
}
