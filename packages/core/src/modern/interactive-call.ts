import { ErrorCode, errorResponse } from '../jsonrpc/errors.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest } from '../jsonrpc/schemas.js'
import type { TapScope } from '../tap/tap.js'
import { trySerialize } from '../jsonrpc/serialize.js'
import type { UpstreamCaller } from '../upstream/upstream.js'
import { abandonedAnswer, covers, inputKeys, INPUT_KEY_META, MAX_INPUT_KEY_LENGTH, isInputMethod, mergeRequirements, requiredCapability, toInputRequest, validateInputResponse, type InputMethod } from './input-requests.js'
import type { PooledChild } from '../shared/lease-pool.js'
import { SERVER_INFO_META_KEY } from './meta-keys.js'
import { finalAnswer, logLevelIndex, wantsLog, type CallContext, type ModernAnswer } from './modern-call.js'

/** What an interactive call needs from the leg that runs it. */
export interface InteractiveHost {
  context: CallContext
  /** How long the child's requests are gathered into one round after the last one arrived. */
  quietMs: number
  /** Most rounds of `input_required` for one call. */
  maxRounds: number
  /** Seal a state for a new parked round of `call`; returns the state to give the client. */
  park(call: InteractiveCall): string
  /** The call left the parked set for good (answered, failed, expired): forget its handle. */
  unpark(call: InteractiveCall): void
  /** The call is over: give its child back (after the child had a moment to settle a cancellation). */
  release(call: InteractiveCall, child: PooledChild, afterCancel: boolean): void
}

/** One request of the child waiting for the client's answer, under the key the client answers it by. */
interface ChildAsk {
  key: string
  childId: JsonRpcId
  method: InputMethod
  params: unknown
}

type Phase = 'running' | 'parked' | 'done'

/** Requests for input one call may have waiting at once (a person answers a few; a flood is a bug). */
const MAX_ASKS = 32
/** A round closes at most this long after its first request, however often the child keeps asking. */
const MAX_GATHER_MS = 250
/** Characters of a final answer a parked call keeps for its retry. */
const MAX_KEPT_RESULT = 8 * 1024 * 1024

// What a retry gets instead of a final answer too large to keep while parked.
function tooLargeToKeep(message: JsonRpcMessage): { message: JsonRpcMessage; text: string } {
  const id = 'id' in message && message.id !== null ? message.id : 0
  const error = errorResponse(id, ErrorCode.InternalError, 'The MCP server finished while the call waited for input, with an answer too large to keep for the retry')
  return { message: error, text: JSON.stringify(error) }
}

/**
 * A 2026-07-28 `tools/call`, `prompts/get` or `resources/read` that holds a child alone, so every request
 * the child sends meanwhile is this call's. Requests that come within a quiet window form one round: the
 * client gets `input_required` with them (those its capabilities cover) and a sealed state, the child's
 * call stays parked, and the client's retry answers them. Then the call follows the child again: a
 * result, progress, or the next round.
 */
export class InteractiveCall implements UpstreamCaller {
  readonly streaming = true
  /** The id the child knows this call by (the first request's; the Upstream keeps it). */
  readonly id: JsonRpcId
  readonly request: JsonRpcRequest
  readonly principal: string
  readonly scope: TapScope
  readonly pooled: PooledChild
  #host: InteractiveHost
  #capabilities: Record<string, unknown>
  #logLevel: number
  #answer: ModernAnswer | undefined
  /** The id of the client's request being answered now (a retry has its own). */
  #answerId: JsonRpcId
  #phase: Phase = 'running'
  #round = 0
  /** Asks gathered in the current quiet window. */
  #gathering: Array<Omit<ChildAsk, 'key'> & { hint: string | undefined }> = []
  #quiet: NodeJS.Timeout | undefined
  #roundDeadline = 0
  /** Asks sent to the client and not answered yet, by key. */
  #pending = new Map<string, ChildAsk>()
  /** Answers a fresh call brought along (`inputResponses` without a state), used when the child asks under that key. */
  #preAnswers: Map<string, unknown>
  /** The child's final answer while parked: the retry gets it. */
  #final: { message: JsonRpcMessage; text: string } | undefined
  /** When the parked round expires (ms since epoch). */
  parkedUntil = 0

  constructor(request: JsonRpcRequest, envelope: { capabilities: Record<string, unknown>; logLevel: string | undefined; principal: string }, pooled: PooledChild, answer: ModernAnswer, host: InteractiveHost) {
    this.id = request.id
    this.principal = envelope.principal
    this.scope = { ...host.context.scope, principal: envelope.principal }
    this.pooled = pooled
    this.#host = host
    this.#capabilities = envelope.capabilities
    this.#logLevel = logLevelIndex(envelope.logLevel)
    this.#answerId = request.id
    const params = request.params as { inputResponses?: unknown } | undefined
    const inputResponses = params?.inputResponses
    this.#preAnswers = new Map(typeof inputResponses === 'object' && inputResponses !== null && !Array.isArray(inputResponses) ? Object.entries(inputResponses) : [])
    // Kept while the call lives (maybe parked for minutes): without the answers it brought along.
    this.request = params && 'inputResponses' in params ? { ...request, params: { ...params, inputResponses: undefined } } : request
    this.#attach(answer)
  }

  get done(): boolean {
    return this.#phase === 'done'
  }

  get parked(): boolean {
    return this.#phase === 'parked'
  }

  wantsLog(level: unknown): boolean {
    return this.#answer !== undefined && wantsLog(this.#logLevel, level)
  }

  // --- from the child (through the Upstream, or the leg for the child's own requests)

  deliver(message: JsonRpcMessage, text: string): void {
    if (this.#phase === 'done') return
    if ('method' in message) {
      // Progress or a permitted log: only while a client reads this call (dropped while parked).
      this.#answer?.event(text)
      return
    }
    this.#clearQuiet()
    if (this.#phase === 'parked') {
      // The child finished (or timed out) while its asks waited: the retry gets this answer (bounded: a
      // parked call must not hold a huge result for minutes).
      this.#final = text.length <= MAX_KEPT_RESULT ? { message, text } : tooLargeToKeep(message)
      this.#answerPendingAsAbandoned('cancelled')
      this.#host.release(this, this.pooled, false)
      return
    }
    this.#finishWith(message, text)
    this.#host.release(this, this.pooled, false)
  }

  abandon(): void {
    this.#end()
  }

  /** The child sent a request to its client during this call. */
  ask(childId: JsonRpcId, method: string, params: unknown): boolean {
    if (this.#phase === 'done' || !isInputMethod(method)) return false
    // A request nested too deeply to be written again is refused here, before it can reach a timer.
    if (trySerialize(params) === undefined) {
      this.pooled.child.answerChild(errorResponse(childId, ErrorCode.InvalidRequest, 'The request for input is nested too deeply to forward'))
      return true
    }
    const hint = hintOf(params)
    const pre = hint === undefined ? undefined : this.#preAnswers.get(hint)
    if (pre !== undefined && hint !== undefined) {
      this.#preAnswers.delete(hint)
      const checked = validateInputResponse(method, pre)
      if (checked.ok) {
        this.pooled.child.answerChild({ jsonrpc: '2.0', id: childId, result: checked.result })
        return true
      }
      this.#failInvalid(hint, checked.reason)
      this.pooled.child.answerChild({ jsonrpc: '2.0', id: childId, ...abandonedAnswer(method, 'the client sent an invalid answer') })
      return true
    }
    if (this.#gathering.length + this.#pending.size >= MAX_ASKS) {
      // A child that asks without end is not asking a person: refused, so it cannot grow the round.
      this.pooled.child.answerChild(errorResponse(childId, ErrorCode.InternalError, `Too many requests for input in one call (at most ${MAX_ASKS} at once)`))
      return true
    }
    this.#gathering.push({ childId, method, params, hint })
    // The round closes after a quiet moment, but never later than a bound after its first ask.
    if (this.#gathering.length === 1) this.#roundDeadline = Date.now() + MAX_GATHER_MS
    this.#clearQuiet()
    this.#quiet = setTimeout(() => this.#closeRound(), Math.max(0, Math.min(this.#host.quietMs, this.#roundDeadline - Date.now())))
    this.#quiet.unref()
    return true
  }

  /** The child withdrew one of its requests (it cancelled it): the client is no longer asked. */
  withdraw(childId: JsonRpcId): void {
    this.#gathering = this.#gathering.filter((ask) => ask.childId !== childId)
    for (const [key, ask] of this.#pending) if (ask.childId === childId) this.#pending.delete(key)
  }

  // --- from the client

  /**
   * The client's retry of a parked round, with its answers. Answers go to the child; keys still missing
   * get a fresh round; then the call follows the child again.
   */
  resume(retry: JsonRpcRequest, answer: ModernAnswer): void {
    this.#answerId = retry.id
    this.#attach(answer)
    if (this.#final) {
      this.#finishWith(this.#final.message, this.#final.text)
      return
    }
    const inputResponses = (retry.params as { inputResponses?: unknown } | undefined)?.inputResponses
    if (typeof inputResponses !== 'object' || inputResponses === null || Array.isArray(inputResponses)) {
      return this.#failInvalid(undefined, 'inputResponses must be an object')
    }
    const responses = inputResponses as Record<string, unknown>
    const answers: Array<{ ask: ChildAsk; result: Record<string, unknown> }> = []
    for (const ask of this.#pending.values()) {
      if (!Object.hasOwn(responses, ask.key)) continue
      const checked = validateInputResponse(ask.method, responses[ask.key])
      if (!checked.ok) return this.#failInvalid(ask.key, checked.reason)
      answers.push({ ask, result: checked.result })
    }
    this.#phase = 'running'
    for (const { ask, result } of answers) {
      this.#pending.delete(ask.key)
      this.pooled.child.answerChild({ jsonrpc: '2.0', id: ask.childId, result })
    }
    // Keys the client left out are asked again under a new state (extra keys were ignored), together
    // with what the child asked while the call was parked.
    if (this.#gathering.length > 0) return this.#closeRound()
    if (this.#pending.size > 0) this.#parkRound()
  }

  /** The parked round expired, was evicted, or the proxy stops: the child gets answers that end its asks, then the call is cancelled. */
  expire(why: string): void {
    if (this.#phase === 'done') return
    this.#answerPendingAsAbandoned(why)
    const cancelled = this.#final === undefined
    if (cancelled) this.pooled.child.cancel(this, this.id, why)
    this.#end()
    this.#host.release(this, this.pooled, cancelled)
  }

  /** The client closed the response of a running call: in 2026-07-28 that is a cancellation. */
  clientGone(): void {
    if (this.#phase !== 'running') return
    this.#answerPendingAsAbandoned('cancelled')
    this.pooled.child.cancel(this, this.id, 'The client closed the request')
    this.#end()
    this.#host.release(this, this.pooled, true)
  }

  // --- rounds

  #closeRound(): void {
    this.#quiet = undefined
    if (this.#phase !== 'running') return
    try {
      this.#closeRoundNow()
    } catch (error) {
      // A timer must never throw (it would end the process): the call fails alone.
      this.#reply(JSON.stringify(errorResponse(this.#answerId, ErrorCode.InternalError, `The request for input could not be forwarded: ${(error as Error).message}`)), 200)
      this.expire('the request for input could not be forwarded')
    }
  }

  #closeRoundNow(): void {
    // The child withdrew everything it asked: nothing to ask, the call goes on.
    if (this.#gathering.length === 0 && this.#pending.size === 0) return
    const gathered = this.#gathering
    this.#gathering = []
    const keys = inputKeys(gathered.map((ask) => ({ method: ask.method, params: ask.params })), new Set(this.#pending.keys()))
    const uncovered: Record<string, unknown>[] = []
    gathered.forEach((ask, index) => {
      const required = requiredCapability(ask.method, ask.params)
      if (covers(this.#capabilities, required)) {
        this.#pending.set(keys[index]!, { key: keys[index]!, childId: ask.childId, method: ask.method, params: ask.params })
      } else {
        uncovered.push(required)
        // An error even for an elicitation (never a "cancel" answer): the server must not take it as the user's choice.
        this.pooled.child.answerChild(errorResponse(ask.childId, ErrorCode.MethodNotFound, `The client does not support ${ask.method} (it did not declare the capability)`))
      }
    })
    if (this.#pending.size > 0) return this.#parkRound()
    // Nothing the client can answer: it learns what it would need, and the child's call is cancelled.
    const requiredCapabilities = mergeRequirements(uncovered)
    this.#reply(JSON.stringify(errorResponse(this.#answerId, ErrorCode.MissingClientCapability, 'The request needs a client capability that was not declared', { requiredCapabilities })), 400)
    this.pooled.child.cancel(this, this.id, 'The client cannot answer what the server asked')
    this.#end()
    this.#host.release(this, this.pooled, true)
  }

  #parkRound(): void {
    if (++this.#round > this.#host.maxRounds) {
      this.#reply(JSON.stringify(errorResponse(this.#answerId, ErrorCode.InternalError, `The MCP server asked for input more than ${this.#host.maxRounds} times in one call`)), 200)
      return this.expire('too many rounds of input')
    }
    const inputRequests: Record<string, unknown> = {}
    for (const ask of this.#pending.values()) inputRequests[ask.key] = toInputRequest(ask.method, ask.params)
    this.#phase = 'parked'
    const requestState = this.#host.park(this)
    const result = { resultType: 'input_required', inputRequests, requestState, _meta: { [SERVER_INFO_META_KEY]: this.#host.context.serverInfo } }
    const text = trySerialize({ jsonrpc: '2.0', id: this.#answerId, result })
    if (text === undefined) throw new Error('it is nested too deeply')
    this.#reply(text, 200)
  }

  // --- helpers

  #attach(answer: ModernAnswer): void {
    this.#answer = answer
    answer.onClose(() => {
      if (this.#answer === answer) this.clientGone()
    })
  }

  #finishWith(message: JsonRpcMessage, text: string): void {
    const answer = this.#answer
    this.#end()
    const final = finalAnswer(this.request, this.#answerId, message, text, this.#host.context)
    answer?.finish(final.text, final.status)
  }

  // Write the answer of the current request; detached first, so its closing is not taken for the client leaving.
  #reply(text: string, status: number): void {
    const answer = this.#answer
    this.#answer = undefined
    answer?.finish(text, status)
  }

  #failInvalid(key: string | undefined, reason: string): void {
    const message = key === undefined ? `Invalid inputResponses: ${reason}` : `Invalid inputResponses["${key}"]: ${reason}`
    this.#reply(JSON.stringify(errorResponse(this.#answerId, ErrorCode.InvalidParams, message)), 200)
    this.expire('the client sent an invalid answer')
  }

  #answerPendingAsAbandoned(why: string): void {
    const asks = [...this.#pending.values(), ...this.#gathering]
    this.#pending.clear()
    this.#gathering = []
    for (const ask of asks) this.pooled.child.answerChild({ jsonrpc: '2.0', id: ask.childId, ...abandonedAnswer(ask.method, why) })
  }

  #clearQuiet(): void {
    if (this.#quiet) clearTimeout(this.#quiet)
    this.#quiet = undefined
  }

  #end(): void {
    this.#clearQuiet()
    if (this.#phase === 'parked') this.#host.unpark(this)
    this.#phase = 'done'
    this.#answer = undefined
  }
}

/** The key a child gives its request (`params._meta["stdio-proxy/inputKey"]`), if any. */
function hintOf(params: unknown): string | undefined {
  const meta = (params as { _meta?: Record<string, unknown> } | undefined)?._meta
  const hint = meta?.[INPUT_KEY_META]
  return typeof hint === 'string' && hint !== '' && hint.length <= MAX_INPUT_KEY_LENGTH ? hint : undefined
}
