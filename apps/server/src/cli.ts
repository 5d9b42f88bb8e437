#!/usr/bin/env node
// mcp-proxy: parse flags and environment → build Fastify with the proxy plugin → listen → handle signals.
// Everything the proxy does lives in @proxy/fastify-plugin and @proxy/core; this file only wires.
import type { FastifyInstance } from 'fastify'
import { DrainSwitch, isLoopback } from '@proxy/fastify-plugin'
import { buildApp } from './build-app.js'
import { readConfig } from './config-file/read-config.js'
import { buildServersApp, type ServersApp } from './multi/build-servers-app.js'
import { helpText } from './help.js'
import { parseArgs, UsageError, type ParseResult, type RunConfig } from './parse-args.js'
import { exitOnEarlySignals, handleShutdown } from './shutdown.js'
import { versionInfo, versionText } from './version.js'

/** One line on stderr, no stack trace, and the exit code: 2 for usage errors, 1 for runtime ones. */
function fail(code: 1 | 2, message: string): never {
  process.stderr.write(`mcp-proxy: error: ${message}\n`)
  process.exit(code)
}

function describeStartError(error: unknown, config: RunConfig): string {
  const e = error as NodeJS.ErrnoException
  switch (e.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${config.host}:${config.port}: the port is already in use`
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${config.host}: not an address of this machine`
    case 'EACCES':
      return `cannot listen on ${config.host}:${config.port}: permission denied`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${config.host}: unknown host name`
    default:
      return e instanceof Error ? e.message : String(error)
  }
}

function baseUrl(app: FastifyInstance, config: RunConfig): string {
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  return `${config.tls ? 'https' : 'http'}://${host}:${port}`
}

/** `--config FILE`: every server of the file under /servers/<name>/, SIGHUP reads the file again. */
async function startServers(config: RunConfig, file: string, warnings: string[]): Promise<void> {
  const removeEarlyHandlers = exitOnEarlySignals()
  const tracing = config.otel ? (await import('./tracing.js')).startTracing(versionInfo().version) : undefined
  let built: ServersApp | undefined
  try {
    built = await buildServersApp(config, readConfig(file, process.env), config.readyRequiresAll)
    for (const warning of warnings) built.app.log.warn(warning)
    if (tracing) {
      tracing.logTo(built.app.log)
      built.app.addHook('onClose', () => tracing.shutdown())
    }
    await built.app.listen({ host: config.host, port: config.port })
  } catch (error) {
    if (error instanceof UsageError) fail(2, error.message)
    const message = describeStartError(error, config)
    if (built) await Promise.race([built.app.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, config.shutdownTimeout).unref())])
    fail(1, message)
  }
  removeEarlyHandlers()
  const { app, servers, drain, reload } = built
  handleShutdown(app, { timeoutMs: config.shutdownTimeout, exitOnStdinClose: config.exitOnStdinClose, drain, onHangup: () => void reload() })
  const base = baseUrl(app, config)
  const list = await servers.list()
  app.log.info(
    { servers: list.map(({ name, status, streamable, sse }) => ({ name, status, ...(streamable ? { streamable: base + streamable } : {}), ...(sse ? { sse: base + sse } : {}) })), list: `${base}/servers` },
    `MCP proxy ready: ${list.length} servers under ${base}/servers/<name>/ (${list.filter((s) => s.status === 'ready').length} running)`,
  )
}

async function start(config: RunConfig, warnings: string[]): Promise<void> {
  if (config.configFile !== undefined) return startServers(config, config.configFile, warnings)
  const removeEarlyHandlers = exitOnEarlySignals()
  // The SDK is loaded only when tracing is on, and registered before the plugin makes its first span.
  const tracing = config.otel ? (await import('./tracing.js')).startTracing(versionInfo().version) : undefined
  let app: FastifyInstance | undefined
  const drain = new DrainSwitch()
  try {
    app = await buildApp(config, drain)
    for (const warning of warnings) app.log.warn(warning)
    if (tracing) {
      tracing.logTo(app.log)
      for (const warning of tracing.warnings) app.log.warn(warning)
      // Root onClose runs after the plugin's close (children stopped, their spans ended): send what is queued.
      app.addHook('onClose', () => tracing.shutdown())
    }
    // ready() spawns the warm children first: a command that cannot be started fails here, not later.
    await app.listen({ host: config.host, port: config.port })
  } catch (error) {
    const message = describeStartError(error, config)
    // Stop what was started (warm children), but never wait long for it.
    if (app) await Promise.race([app.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, config.shutdownTimeout).unref())])
    fail(1, message)
  }
  removeEarlyHandlers()
  handleShutdown(app, { timeoutMs: config.shutdownTimeout, exitOnStdinClose: config.exitOnStdinClose, drain })

  const { resolved } = config
  const base = baseUrl(app, config)
  const streamable = resolved.streamEndpoint ? base + resolved.streamEndpoint : undefined
  const sse = resolved.sseEndpoint && !resolved.stateless ? base + resolved.sseEndpoint : undefined
  const served = [streamable && `${streamable} (Streamable HTTP)`, sse && `${sse} (HTTP+SSE)`].filter(Boolean).join(', ')
  app.log.info(
    { streamable, sse, mode: resolved.stateless ? 'stateless' : resolved.childMode === 'shared' ? 'shared' : 'session', command: resolved.command.command, ...(resolved.instanceId === undefined ? {} : { instance: resolved.instanceId }) },
    `MCP proxy ready: ${served}`,
  )
  if (tracing) app.log.info({ endpoint: tracing.endpoint }, `tracing: spans sent over OTLP/HTTP to ${tracing.endpoint}`)
  if (resolved.oauth) {
    const { issuer, resourceUrl, scopes } = resolved.oauth
    app.log.info({ issuer, resource: resourceUrl ?? 'from the Host header', scopes }, `OAuth: access tokens from ${issuer} required`)
  }
  if (!isLoopback(config.host) && resolved.apiKeys.length === 0 && !resolved.oauth) {
    app.log.warn(
      { host: config.host },
      `listening on ${config.host} without an API key or OAuth: anyone who can reach this port can use the MCP server; set --api-key (MCP_PROXY_API_KEY) or --oauth-issuer`,
    )
  }
}

let parsed: ParseResult
try {
  parsed = parseArgs(process.argv.slice(2), process.env)
} catch (error) {
  if (error instanceof UsageError) fail(2, error.message)
  throw error
}
if (parsed.action === 'help') process.stdout.write(helpText())
else if (parsed.action === 'version') process.stdout.write(versionText())
else await start(parsed.config, parsed.warnings).catch((error: unknown) => fail(1, error instanceof Error ? error.message : String(error)))
