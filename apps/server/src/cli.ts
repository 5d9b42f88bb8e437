#!/usr/bin/env node
// mcp-proxy: parse flags, build the app, listen, handle signals. Everything else lives in the plugin.
import { isLoopback } from '@proxy/fastify-plugin'
import { buildApp } from './build-app.js'
import { helpText } from './help.js'
import { parseArgs, UsageError, type CliOptions } from './parse-args.js'
import { handleShutdown } from './shutdown.js'
import { versionText } from './version.js'

function fail(code: number, message: string): never {
  process.stderr.write(`mcp-proxy: error: ${message}\n`)
  process.exit(code)
}

function describeStartError(error: unknown, options: CliOptions): string {
  const e = error as NodeJS.ErrnoException
  if (e.code === 'EADDRINUSE') return `port ${options.port} is already in use on ${options.host}`
  if (e.code === 'EADDRNOTAVAIL') return `cannot bind ${options.host}: no such address on this machine`
  if (e.code === 'EACCES') return `not allowed to bind ${options.host}:${options.port}`
  if (e.code === 'ENOENT' && typeof e.path === 'string') return `cannot read ${e.path}`
  return e.message || String(error)
}

async function main(): Promise<void> {
  let options: CliOptions
  try {
    options = parseArgs(process.argv.slice(2), process.env)
  } catch (error) {
    if (error instanceof UsageError) fail(2, error.message)
    throw error
  }
  if (options.help) return void process.stdout.write(helpText())
  if (options.version) return void process.stdout.write(versionText() + '\n')

  let app
  try {
    app = await buildApp(options)
    await app.listen({ host: options.host, port: options.port })
  } catch (error) {
    await app?.close().catch(() => {})
    fail(1, describeStartError(error, options))
  }
  if (!isLoopback(options.host) && !options.plugin.apiKey) {
    app.log.warn({ host: options.host }, 'listening on a non-loopback address without --api-key: anyone who can reach it can run the MCP server')
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const base = `${options.https ? 'https' : 'http'}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`
  const { streamEndpoint = '/mcp', sseEndpoint = '/sse' } = options.plugin
  app.log.info(
    { streamable: streamEndpoint ? base + streamEndpoint : null, sse: sseEndpoint ? base + sseEndpoint : null, command: options.plugin.command },
    `mcp-proxy listening on ${base}`,
  )
  handleShutdown(app, (options.plugin.stopGrace ?? 2000) * 3 + 3000, options.exitOnStdinClose)
}

main().catch((error: unknown) => fail(1, (error as Error).message ?? String(error)))
