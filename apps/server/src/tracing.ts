// `--otel`: the OpenTelemetry SDK of the CLI. The plugin traces through the API only; this registers the
// SDK it reports to: a NodeTracerProvider (W3C propagator, AsyncLocalStorage context) with a batching
// OTLP/HTTP exporter, configured by the standard OTEL_* variables. Loaded only when tracing is on.
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'

/** The service name when OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) does not say. */
export const DEFAULT_SERVICE_NAME = 'mcp-proxy'

/** How long exit waits for the last spans to be sent (a collector that is down must not hold shutdown). */
const FLUSH_MS = 2000

export interface Tracing {
  /** Where spans go, for the log line. */
  endpoint: string
  /** Configuration the exporter cannot honour, for warnings. */
  warnings: string[]
  /** Report the SDK's own warnings and errors (a collector that refuses or cannot be reached) as log lines. */
  logTo(log: DiagnosticsLog): void
  /** Send the spans still queued and stop; bounded by FLUSH_MS, never rejects. */
  shutdown(): Promise<void>
}

/** Where the SDK's diagnostics go: the app's logger. */
export interface DiagnosticsLog {
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** The traces URL the exporter will use (it reads the same variables itself). */
function endpointOf(env: NodeJS.ProcessEnv): string {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()
  if (traces) return traces
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318'
  return `${base.replace(/\/+$/, '')}/v1/traces`
}

function protocolWarnings(env: NodeJS.ProcessEnv): string[] {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim()
  if (!protocol || protocol === 'http/json') return []
  return [`OTLP protocol '${protocol}' is not supported: mcp-proxy sends http/json (an OTLP/HTTP receiver, port 4318, accepts it)`]
}

/** The same diagnostic (a collector that is down fails every batch) is logged at most once per this long. */
const REPEAT_MS = 60_000

function logDiagnostics(log: DiagnosticsLog): void {
  const last = new Map<string, number>()
  const line =
    (write: (obj: object, msg: string) => void) =>
    (message: string, ...args: unknown[]): void => {
      const now = Date.now()
      if (now - (last.get(message) ?? -Infinity) < REPEAT_MS) return
      if (last.size > 100) last.clear()
      last.set(message, now)
      // The first line of each detail only: a stack trace per failed batch would drown the log.
      write(args.length > 0 ? { details: args.map((arg) => (arg instanceof Error ? arg.message : String(arg).split('\n')[0])) } : {}, `opentelemetry: ${message}`)
    }
  const none = (): void => {}
  const logger: DiagLogger = { error: line(log.error.bind(log)), warn: line(log.warn.bind(log)), info: none, debug: none, verbose: none }
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true })
}

/** Start the SDK and register it globally; spans are batched (OTEL_BSP_*) and sent to the OTLP endpoint. */
export function startTracing(version: string, env: NodeJS.ProcessEnv = process.env): Tracing {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME, [ATTR_SERVICE_VERSION]: version }))
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the defaults above.
    .merge(detectResources({ detectors: [envDetector] }))
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] })
  provider.register()
  return {
    endpoint: endpointOf(env),
    warnings: protocolWarnings(env),
    logTo: logDiagnostics,
    shutdown: () =>
      new Promise<void>((resolve) => {
        setTimeout(resolve, FLUSH_MS).unref()
        provider.shutdown().then(resolve, resolve)
      }),
  }
}
