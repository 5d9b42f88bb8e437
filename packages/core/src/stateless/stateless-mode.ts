import type { Backend, Health, InboundMessage, ServingMode } from '../backend/backend.js'
import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from '../jsonrpc/schemas.js'
import type { Logger } from '../logger.js'
import { DEFAULT_BACKLOG_LIMIT } from '../session/session.js'
import { EventStream, type EventStreamOwner } from '../session/event-stream.js'
import type { StreamSink } from '../session/stream-sink.js'
import type { CallClient } from '../shared/shared-call.js'
import { SharedChildren, type SharedChildrenOptions } from '../shared/shared-children.js'
import type { SharedChildState } from '../shared/shared-child.js'

export type StatelessModeOptions = Omit<SharedChildrenOptions, 'publish' | 'onChildUp' | 'role'>

// The stream of one stateless POST keeps no events, belongs to no session, and (ending with its answers)
// never keeps a backlog.
const NO_SESSION: EventStreamOwner = { store: undefined, backlogLimit: DEFAULT_BACKLOG_LIMIT, streamFinished: () => {}, backlogDropped: () => {}, scope: { era: 'legacy' } }

/**
 * A stateless POST as the client of its calls: it can be asked while its response is a stream that is
 * still open (its client declared nothing the proxy keeps: the stream is all there is).
 */
function postClient(stream: EventStream): CallClient {
  return {
    get askable() {
      return stream.streaming
    },
    canAsk: () => stream.streaming,
    relay: (_message, text) => {
      if (stream.streaming) stream.emit(text)
    },
  }
}

/**
 * Stateless mode: every POST stands alone on the shared children. The proxy initialized them; a client's
 * `initialize` is answered from that handshake. A call that may ask holds a child alone while its POST
 * streams, so the child's sampling or elicitation reaches that POST and no other, even after another call
 * was cancelled; a child's notification that no call is about has nowhere to go and is dropped.
 */
export class StatelessMode implements Backend, ServingMode {
  readonly children: SharedChildren
  #logger: Logger

  constructor(options: StatelessModeOptions) {
    this.#logger = options.logger
    this.children = new SharedChildren({
      ...options,
      role: 'shared',
      publish: (message) => this.#logger.debug({ method: message.method }, 'notification of the MCP server dropped (stateless mode)'),
    })
  }

  /** Where the primary child is in its life. */
  get state(): SharedChildState {
    return this.children.primary.child.state
  }

  start(): Promise<void> {
    return this.children.start()
  }

  close(): Promise<void> {
    return this.children.close()
  }

  health(): Health {
    const { ready, report } = this.children.health()
    return { ready, report: { ...report, mode: 'stateless' } }
  }

  /** Serve the requests of one POST: `initialize` is answered from the proxy's own handshake, the rest by the children. */
  serve(requests: InboundMessage<JsonRpcRequest>[], sink: StreamSink): void {
    const stream = new EventStream('stateless', NO_SESSION, true)
    stream.attach(sink)
    const client = postClient(stream)
    for (const { message, text } of requests) {
      stream.expect(message.id)
      if (message.method === 'initialize') {
        const params = message.params as { protocolVersion?: unknown } | undefined
        const answer = this.children.initializeAnswer(message.id, params?.protocolVersion) ?? errorResponse(message.id, ErrorCode.InternalError, `The MCP server is ${this.state}; retry shortly`)
        stream.deliver(answer, JSON.stringify(answer))
      } else {
        this.children.call(stream, message, text, client)
      }
    }
  }

  /**
   * Answers to the children's relayed asks go to the child that asked. Notifications are not forwarded:
   * a cancellation cannot be tied to the client that sent it (a stateless request carries no identity, and
   * clients reuse ids), and `initialized` was the proxy's to send.
   */
  forward(messages: InboundMessage<JsonRpcNotification | JsonRpcResponse>[]): void {
    for (const { message } of messages) {
      if ('method' in message) this.#logger.debug({ method: message.method }, 'client notification not forwarded (stateless mode)')
      else if (!this.children.answer(message)) this.#logger.debug({ id: message.id }, 'client answered a request it was not sent; dropped')
    }
  }
}
