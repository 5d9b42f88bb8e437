import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyRequest, LogLevel } from 'fastify'
import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import {
  buildChildEnvironment,
  ChildPool,
  MemoryEventStore,
  ModernLeg,
  SessionRegistry,
  SharedSessions,
  StatelessMode,
  Tap,
  type ChildUpstreamOptions,
  type Logger,
} from '@proxy/core'
import { registerAuditLog } from './audit/audit-log.js'
import { servingMode, type LegacyLeg, type ProxyContext } from './context.js'
import { HttpError, replyError } from './errors.js'
import { registerMetrics } from './metrics/metrics.js'
import { authSetup, type AuthSetup } from './auth/request-auth.js'
import { authenticateHook } from './hooks/authenticate.js'
import { bodyTimeout } from './hooks/body-timeout.js'
import { cors } from './hooks/cors.js'
import { hostShape } from './hooks/host-shape.js'
import { originGuard } from './hooks/origin-guard.js'
import { refuseWhileClosing, type ClosingState } from './hooks/shutting-down.js'
import { BodyError, registerJsonBody } from './http/body.js'
import { resolveOptions, type McpProxyOptions, type ResolvedOptions } from './options.js'
import { DrainSwitch, type DrainLoad } from './drain/drain-switch.js'
import { countInFlight } from './drain/in-flight.js'
import { registerDrainRoute } from './routes/drain.js'
import { registerHealth } from './routes/health.js'
import { registerLegacySse } from './routes/legacy-sse.js'
import { registerMcpDelete } from './routes/mcp-delete.js'
import { registerMcpGet } from './routes/mcp-get.js'
import { registerMcpPost } from './routes/mcp-post.js'
import { onBothSlashForms } from './routes/paths.js'
import { registerProtectedResourceMetadata } from './routes/protected-resource.js'
import { registerTracing } from './tracing/register.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A health check (`/ping`, `/ready`): no API key, and a request without a Host header passes. */
    healthCheck?: boolean
    /** An admin route (`/drain`): its own token instead of the API key. */
    adminRoute?: boolean
  }
}

function childOptions(options: ResolvedOptions, tap: Tap, logger: Logger): Omit<ChildUpstreamOptions, 'shared'> {
  // Never handed to the child: the API keys, the admin token, the introspection secret, and the key that
  // seals 2026 request states. (A client's token never reaches the proxy's environment in the first place.)
  const stateKey = options.modern ? options.modern.requestStateKey?.toString('utf8') : undefined
  const secrets = [...options.apiKeys, options.adminToken, options.oauth?.introspection?.clientSecret, stateKey].filter((secret): secret is string => secret !== undefined)
  const base = options.inheritEnv ? process.env : {}
  return {
    command: { ...options.command, env: buildChildEnvironment({ base, extra: options.env, secrets }) },
    maxLineLength: options.maxLineLength,
    maxQueuedBytes: 16 * 1024 * 1024,
    stopGraceMs: options.stopGrace,
    requestTimeoutMs: options.requestTimeout,
    maxRequestTimeoutMs: options.maxRequestTimeout,
    tap,
    ...(options.toolFilter ? { toolFilter: options.toolFilter } : {}),
    logger,
  }
}

function mapFastifyError(error: FastifyError): (typeof HttpError)[keyof typeof HttpError] | undefined {
  if (error instanceof BodyError) return error.kind
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return HttpError.BodyTooLarge
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return HttpError.UnsupportedMediaType
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return HttpError.EmptyBody
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return HttpError.InvalidRequest
    default:
      return undefined
  }
}

/** How a shared child (stateless, or the modern leg's) is restarted after it exits. */
const RESTART = { initialDelayMs: 500, maxDelayMs: 30_000, crashLoopExits: 5, crashLoopWindowMs: 60_000 }

/** How long a new session may wait for the child of a closed session to finish stopping (process budget). */
const SLOT_WAIT_MS = 1000

/** Report what an event store evicts to the tap, while it listens. */
function evicted(tap: Tap | undefined): (events: number, bytes: number) => void {
  return (events, bytes) => {
    if (tap?.active) tap.emit({ type: 'events-evicted', events, bytes })
  }
}

/** Calls that may wait for a shared child, per child of the bound, and at least (a burst of stateless calls queues). */
const QUEUED_PER_CHILD = 8
const MIN_QUEUED = 256
/** A shared child beyond the first idle this long is stopped. */
const EXTRA_IDLE_MS = 30_000

/** How the children of shared and stateless mode are started, bounded and grown. */
function sharedChildren(options: ResolvedOptions, child: Omit<ChildUpstreamOptions, 'shared'>, logger: Logger) {
  return {
    child,
    initializeTimeoutMs: options.initializeTimeout,
    restart: RESTART,
    clientInfo: options.clientInfo,
    roots: options.roots,
    maxChildren: options.sharedChildren,
    asks: options.sharedAsks,
    maxQueued: Math.max(MIN_QUEUED, options.sharedChildren * QUEUED_PER_CHILD),
    queueTimeoutMs: options.requestTimeout,
    idleMs: EXTRA_IDLE_MS,
    logger,
  }
}

/** The 2025-era leg the options ask for: sessions (each with a child and a warm pool, or on shared children), or stateless. */
function legacyLeg(options: ResolvedOptions, child: Omit<ChildUpstreamOptions, 'shared'>, logger: Logger): LegacyLeg {
  if (options.stateless) return { kind: 'stateless', shared: new StatelessMode(sharedChildren(options, child, logger)) }
  const registry = new SessionRegistry({
    pool: options.childMode === 'shared' ? new SharedSessions(sharedChildren(options, child, logger)) : new ChildPool({ ...child, shared: false }, options.warmChildren),
    maxSessions: options.maxSessions,
    idleTimeoutMs: options.sessionIdleTimeout,
    createEventStore:
      options.eventStoreMaxEvents > 0
        ? () => new MemoryEventStore({ maxEvents: options.eventStoreMaxEvents, maxBytes: options.eventStoreMaxBytes, onEvict: evicted(child.tap) })
        : undefined,
    initializeTimeoutMs: options.initializeTimeout,
    idPrefix: options.instanceId === undefined ? '' : `${options.instanceId}.`,
    roots: options.roots,
    // What waits for a GET stream that is not open has the bound of a slow client's queue.
    backlogLimit: { maxEvents: options.eventStoreMaxEvents || 1000, maxBytes: options.maxQueuedBytes },
    slotWaitMs: SLOT_WAIT_MS,
    ...(child.tap ? { tap: child.tap } : {}),
    logger,
  })
  return { kind: 'sessions', registry }
}

/** The 2026-07-28 leg: its own child (never one of a 2025 session, nor the stateless one), unless turned off. */
function modernLeg(options: ResolvedOptions, child: Omit<ChildUpstreamOptions, 'shared'>, logger: Logger): ModernLeg | undefined {
  if (!options.modern) return undefined
  return new ModernLeg({
    child,
    initializeTimeoutMs: options.initializeTimeout,
    restart: RESTART,
    clientInfo: options.clientInfo,
    cache: options.modern.cache,
    roots: options.roots.mode === 'fixed' ? options.roots.roots : [],
    maxListenStreams: options.modern.maxListenStreams,
    upstreamProtocol: options.modern.upstreamProtocol,
    interactive: options.modern.interactive,
    maxChildren: options.modern.maxChildren,
    inputTtlMs: options.modern.inputTtlMs,
    maxParked: options.modern.maxParked,
    requestStateKey: options.modern.requestStateKey,
    instance: options.instanceId ?? randomUUID(),
    leaseTimeoutMs: options.requestTimeout,
    logger: logger.child?.({ leg: 'modern' }) ?? logger,
  })
}

/** What the outer plugin hands the encapsulated one: the options resolved once, and the auth scheme built once. */
interface Resolved {
  options: ResolvedOptions
  setup: AuthSetup
}

/**
 * Serve one stdio MCP server over Streamable HTTP and legacy HTTP+SSE. The routes live in an encapsulated
 * context (a `prefix` works, and the hooks — Origin/Host guard, CORS, authentication — never reach the host
 * app's other routes); only the Protected Resource Metadata is registered on the host app itself, since
 * clients look for it at the root (`/.well-known/oauth-protected-resource/<prefix>/mcp`).
 */
const mcpProxy: FastifyPluginAsync<McpProxyOptions & { prefix?: string; logLevel?: LogLevel }> = async (host: FastifyInstance, raw) => {
  const options = resolveOptions(raw)
  const prefix = raw.prefix === undefined || raw.prefix === '/' ? '' : `/${raw.prefix.replace(/^\/+|\/+$/g, '')}`
  const endpoints = { hostPrefix: host.prefix, prefix: host.prefix + prefix, stream: options.streamEndpoint, sse: options.sseEndpoint, messages: options.messagesEndpoint }
  const setup = authSetup(options, endpoints)
  if (setup.oauth) {
    const served = [options.streamEndpoint, options.sseEndpoint].filter((e): e is string => e !== false)
    registerProtectedResourceMetadata(host, setup.oauth, served, options.allowedHosts)
  }
  const resolved: Resolved & { prefix?: string; logLevel?: LogLevel } = { options, setup }
  if (raw.prefix !== undefined) resolved.prefix = raw.prefix
  if (raw.logLevel !== undefined) resolved.logLevel = raw.logLevel
  await host.register(serveMcp, resolved)
}

/** The encapsulated part: hooks, routes and children of one proxied server. */
const serveMcp: FastifyPluginAsync<Resolved> = async (app: FastifyInstance, { options, setup }) => {
  const logger = app.log as unknown as Logger
  const tap = new Tap()
  tap.onListenerError = (error) => logger.warn({ err: error }, 'a tap listener threw; the message path goes on')
  if (options.tap) tap.subscribe(options.tap)
  // Before the routes: tracing wraps the message routes' handlers to see their HTTP request's context.
  if (options.tracing) registerTracing(app, tap, options.name)
  if (options.auditLog !== undefined) await registerAuditLog(app, tap, options.auditLog, logger)
  const child = childOptions(options, tap, logger)

  const drain = options.drain ?? new DrainSwitch()
  const context: ProxyContext = { options, legacy: legacyLeg(options, child, logger), modern: modernLeg(options, child, logger), prefix: app.prefix, tap, drain }
  if (options.metrics) registerMetrics(app, context, options.metrics)
  const serving = servingMode(context.legacy)

  // Refusals are reported once their answer is sent (the hooks and routes only name them).
  app.decorateReply('mcpRefusal', null)
  // The hook exists only when something can listen (every listener comes from the options): no cost otherwise.
  if (tap.active || tap.decorating) {
    app.addHook('onResponse', (_request, reply, done) => {
      if (reply.mcpRefusal !== null && tap.active) tap.emit({ type: 'refused', reason: reply.mcpRefusal, status: reply.statusCode })
      done()
    })
  }

  const healthCheck = (request: FastifyRequest): boolean => request.routeOptions.config.healthCheck === true
  const closing: ClosingState = { closing: false }
  if (options.instanceId !== undefined) {
    const instance = options.instanceId
    app.addHook('onRequest', (_request, reply, done) => {
      reply.header('mcp-proxy-instance', instance)
      done()
    })
  }
  app.addHook('onRequest', refuseWhileClosing(closing))
  app.addHook('onRequest', hostShape())
  app.addHook('onRequest', originGuard(options.allowedOrigins, options.allowedHosts, healthCheck))
  app.addHook('onRequest', cors(options.allowedOrigins))
  app.decorateRequest('principal', null)
  if (setup.auth) {
    // Health checks need no credential; an admin route has its own token. One look at the route's config.
    const open = (request: FastifyRequest): boolean => {
      if (request.method === 'OPTIONS') return true
      const { config } = request.routeOptions
      return config.healthCheck === true || config.adminRoute === true
    }
    app.addHook('onRequest', authenticateHook(setup.auth, open))
  }
  // What a drain waits for: sessions, every request but health checks, preflights and admin calls, and 2026
  // calls parked for the client's input (their retry is still to come).
  const inFlight = countInFlight(app, (route) => route.method === 'OPTIONS' || route.config?.healthCheck === true || route.config?.adminRoute === true)
  const load = (): DrainLoad => ({
    sessions: context.legacy.kind === 'sessions' ? context.legacy.registry.size : 0,
    requests: inFlight.count,
    parked: context.modern?.parked ?? 0,
  })
  drain.bind({
    timeoutMs: options.drainTimeout,
    stopAdmitting: () => (context.legacy.kind === 'sessions' ? context.legacy.registry.stopAdmitting() : undefined),
    load,
    logger,
  })
  app.addHook('preParsing', bodyTimeout(options.bodyTimeout))
  registerJsonBody(app, options.maxBodySize, tap)
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const mapped = mapFastifyError(error)
    if (mapped) return replyError(reply, mapped)
    request.log.error({ err: error }, 'unexpected error in the MCP proxy')
    return replyError(reply, HttpError.Internal)
  })

  const paths: string[] = []
  if (options.streamEndpoint) {
    registerMcpPost(app, context, options.streamEndpoint)
    registerMcpGet(app, context, options.streamEndpoint)
    registerMcpDelete(app, context, options.streamEndpoint)
    paths.push(options.streamEndpoint)
  }
  if (options.sseEndpoint && context.legacy.kind === 'sessions') {
    registerLegacySse(app, context, context.legacy.registry, options.sseEndpoint, options.messagesEndpoint)
    paths.push(options.sseEndpoint, options.messagesEndpoint)
  }
  for (const path of paths) onBothSlashForms(app, 'OPTIONS', path, (form) => app.options(form, async (_request, reply) => reply.code(204).send()))
  registerHealth(app, context)
  if (options.adminToken !== undefined) registerDrainRoute(app, drain, options.adminToken, load, options.drainTimeout)

  // Start the children before listening: a command that cannot be spawned fails `ready()`, not a client.
  // (The 2026-07-28 leg spawns its child on its first request.)
  app.addHook('onReady', () => serving.start())
  // Before the server closes: refuse new requests, end open streams (they would hold close() open) and
  // stop every child.
  app.addHook('preClose', async () => {
    closing.closing = true
    await Promise.all([serving.close(), context.modern?.close()])
  })
}

export default fp(mcpProxy, { name: '@proxy/fastify-plugin', fastify: '5.x' })
