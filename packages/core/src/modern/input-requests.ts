// The pure half of MRTR for a 2025-era child: its mid-call server→client requests (elicitation/create,
// sampling/createMessage, roots/list) become the `inputRequests` of a 2026-07-28 `input_required` result,
// and the client's `inputResponses` become the JSON-RPC results the child waits for. Shapes follow the
// 2026-07-28 schema (InputRequest, ElicitResult, CreateMessageResult, ListRootsResult) and the SDK's
// capability rule for embedded requests (`requiredClientCapabilitiesForInputRequest`). Nothing here keeps
// state; parking and leases belong to the caller.
import { ErrorCode } from '../jsonrpc/errors.js'
import { isPlainObject } from './translate.js'

/** The child's key hint for its request: params._meta["stdio-proxy/inputKey"], a non-empty string (stripped on the way out). */
export const INPUT_KEY_META = 'stdio-proxy/inputKey'

/** The longest key hint taken from a child; a longer one gets a numbered key instead. */
export const MAX_INPUT_KEY_LENGTH = 256

/** The three server→client requests that 2026-07-28 carries in-band, inside `input_required`. */
export type InputMethod = 'elicitation/create' | 'sampling/createMessage' | 'roots/list'

/** A ClientCapabilities object, or a fragment of one (`{sampling: {tools: {}}}`). */
export type CapabilityFragment = Record<string, unknown>

const INPUT_METHODS: ReadonlySet<string> = new Set<InputMethod>(['elicitation/create', 'sampling/createMessage', 'roots/list'])

/** The prefix of generated keys: `elicitation-1`, `sampling-1`, `roots-1`. */
const KEY_PREFIX: Record<InputMethod, string> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
}

/** Params members of a 2025 request that 2026's embedded requests do not have. */
const DROPPED_PARAMS = ['_meta', 'task', 'elicitationId'] as const

/** Whether a child's request is one that must travel to the client as an input request. */
export function isInputMethod(method: string): method is InputMethod {
  return INPUT_METHODS.has(method)
}

/** The child's key hint, when it is a usable one. `__proto__` is refused: it cannot be a plain object's own key by assignment. */
function keyHint(params: unknown): string | undefined {
  if (!isPlainObject(params) || !isPlainObject(params._meta)) return undefined
  const hint = params._meta[INPUT_KEY_META]
  if (typeof hint !== 'string' || hint.length === 0 || hint.length > MAX_INPUT_KEY_LENGTH || hint === '__proto__') return undefined
  return hint
}

/**
 * The `inputRequests` keys of a batch of the child's requests coalesced into one round, in batch order: the
 * child's hint when it is present, unique in the batch and not in `taken`; else `elicitation-1`,
 * `sampling-1`, `roots-1`, … numbered per kind, skipping every key already used (hints included).
 */
export function inputKeys(requests: readonly { method: InputMethod; params: unknown }[], taken: ReadonlySet<string> = new Set()): string[] {
  const hints = requests.map((request) => keyHint(request.params))
  const counts = new Map<string, number>()
  for (const hint of hints) if (hint !== undefined) counts.set(hint, (counts.get(hint) ?? 0) + 1)
  const used = new Set(taken)
  const keys: (string | undefined)[] = hints.map((hint) => {
    if (hint === undefined || counts.get(hint) !== 1 || taken.has(hint)) return undefined
    used.add(hint)
    return hint
  })
  const next = new Map<string, number>()
  return keys.map((key, index) => {
    if (key !== undefined) return key
    const prefix = KEY_PREFIX[(requests[index] as { method: InputMethod }).method]
    let number = next.get(prefix) ?? 1
    while (used.has(`${prefix}-${number}`)) number++
    next.set(prefix, number + 1)
    const generated = `${prefix}-${number}`
    used.add(generated)
    return generated
  })
}

/**
 * The 2026 `InputRequest` for a child's request: `{method, params}` without params._meta (the key hint
 * included), `task` and `elicitationId` (both gone from 2026-07-28), and without `execution` on sampling
 * tools (deleted vocabulary, as the SDK's encode seam strips it). Params that are not an object become `{}`.
 */
export function toInputRequest(method: InputMethod, params: unknown): { method: InputMethod; params: Record<string, unknown> } {
  const copy: Record<string, unknown> = isPlainObject(params) ? { ...params } : {}
  for (const key of DROPPED_PARAMS) delete copy[key]
  if (method === 'sampling/createMessage' && Array.isArray(copy.tools)) {
    copy.tools = copy.tools.map((tool: unknown) => {
      if (!isPlainObject(tool) || !Object.hasOwn(tool, 'execution')) return tool
      const { execution: _execution, ...rest } = tool
      return rest
    })
  }
  return { method, params: copy }
}

/**
 * The client capability a child's request needs, as a ClientCapabilities fragment (the SDK's
 * `requiredClientCapabilitiesForInputRequest`): elicitation in URL mode → `{elicitation: {url: {}}}`, in form
 * mode (or no mode) → `{elicitation: {form: {}}}`; sampling → `{sampling: {}}`, or `{sampling: {tools: {}}}`
 * when params has `tools` or `toolChoice`; roots/list → `{roots: {}}`.
 */
export function requiredCapability(method: InputMethod, params: unknown): CapabilityFragment {
  const object = isPlainObject(params) ? params : {}
  switch (method) {
    case 'elicitation/create':
      return object.mode === 'url' ? { elicitation: { url: {} } } : { elicitation: { form: {} } }
    case 'sampling/createMessage':
      return object.tools !== undefined || object.toolChoice !== undefined ? { sampling: { tools: {} } } : { sampling: {} }
    case 'roots/list':
      return { roots: {} }
  }
}

const present = (value: unknown): boolean => value !== undefined && value !== null

/**
 * Whether the capabilities a client declared (the request's `_meta` envelope) cover a requirement: each
 * required capability is declared as an object, and each member it names is declared in it. As in the SDK,
 * a bare `elicitation: {}` (neither `form` nor `url`) counts as form support; declaring a mode removes that.
 */
export function covers(declared: CapabilityFragment, required: CapabilityFragment): boolean {
  if (!isPlainObject(declared)) return Object.keys(required).length === 0
  for (const [capability, members] of Object.entries(required)) {
    const have = declared[capability]
    if (!isPlainObject(have)) return false
    if (!isPlainObject(members)) continue
    for (const member of Object.keys(members)) {
      if (present(have[member])) continue
      const bareElicitation = capability === 'elicitation' && member === 'form' && !present(have.form) && !present(have.url)
      if (!bareElicitation) return false
    }
  }
  return true
}

/**
 * Several requirement fragments as one ClientCapabilities object (members united), e.g. for
 * `{code: -32021, data: {requiredCapabilities}}`. Merge the fragments of the uncovered requests only: the
 * error lists what is missing.
 */
export function mergeRequirements(required: readonly CapabilityFragment[]): CapabilityFragment {
  const merged: Record<string, Record<string, unknown>> = {}
  for (const fragment of required) {
    for (const [capability, members] of Object.entries(fragment)) {
      merged[capability] = { ...merged[capability], ...(isPlainObject(members) ? members : {}) }
    }
  }
  return merged
}

// ---------------------------------------------------------------------------------------------------
// The client's answers

/** The outcome of {@link validateInputResponse}: the result to send the child, or why the answer is refused. */
export type InputResponseCheck = { ok: true; result: Record<string, unknown> } | { ok: false; reason: string }

const ELICIT_ACTIONS: ReadonlySet<unknown> = new Set(['accept', 'decline', 'cancel'])
const ROLES: ReadonlySet<unknown> = new Set(['user', 'assistant'])

const valid = (result: Record<string, unknown>): InputResponseCheck => ({ ok: true, result })
const invalid = (reason: string): InputResponseCheck => ({ ok: false, reason })

/** A value ElicitResult.content may hold: a string, a number, a boolean, or an array of strings. */
function isElicitValue(value: unknown): boolean {
  if (typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value)
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}

function checkElicitResult(value: Record<string, unknown>): InputResponseCheck {
  if (!ELICIT_ACTIONS.has(value.action)) return invalid('an ElicitResult needs action "accept", "decline" or "cancel"')
  if (value.content === undefined) return valid({ ...value })
  // null is read as absent, as the 2025 SDKs read it.
  if (value.content === null) {
    const { content: _content, ...rest } = value
    return valid(rest)
  }
  if (!isPlainObject(value.content)) return invalid('ElicitResult.content must be an object')
  for (const [field, item] of Object.entries(value.content)) {
    if (!isElicitValue(item)) return invalid(`ElicitResult.content.${field} must be a string, a number, a boolean or an array of strings`)
  }
  return valid({ ...value })
}

const isContentBlock = (block: unknown): boolean => isPlainObject(block) && typeof block.type === 'string'

function checkCreateMessageResult(value: Record<string, unknown>): InputResponseCheck {
  if (!ROLES.has(value.role)) return invalid('a CreateMessageResult needs role "user" or "assistant"')
  const { content } = value
  const blocksOk = Array.isArray(content) ? content.every(isContentBlock) : isContentBlock(content)
  if (!blocksOk) return invalid('CreateMessageResult.content must be a content block (an object with a string "type") or an array of them')
  if (typeof value.model !== 'string') return invalid('a CreateMessageResult needs a string "model"')
  if (value.stopReason !== undefined && typeof value.stopReason !== 'string') return invalid('CreateMessageResult.stopReason must be a string')
  return valid({ ...value })
}

function checkListRootsResult(value: Record<string, unknown>): InputResponseCheck {
  if (!Array.isArray(value.roots)) return invalid('a ListRootsResult needs a "roots" array')
  for (const [index, root] of value.roots.entries()) {
    if (!isPlainObject(root) || typeof root.uri !== 'string') return invalid(`roots[${index}] needs a string "uri"`)
    // 2025-era children (and the SDKs' Root schema) accept file:// roots only.
    if (!root.uri.startsWith('file://')) return invalid(`roots[${index}].uri must be a file:// URI`)
    if (root.name !== undefined && typeof root.name !== 'string') return invalid(`roots[${index}].name must be a string`)
  }
  return valid({ ...value })
}

/**
 * Checks the client's `inputResponses[key]` for a child's request of `method` against the 2026-07-28 shape
 * (ElicitResult, CreateMessageResult, ListRootsResult) and returns the JSON-RPC `result` to send the child:
 * a shallow copy, unknown members passed through (a 2025 Result is open). Otherwise a reason for -32602.
 */
export function validateInputResponse(method: InputMethod, value: unknown): InputResponseCheck {
  if (!isPlainObject(value)) return invalid(`the response to ${method} must be an object`)
  switch (method) {
    case 'elicitation/create':
      return checkElicitResult(value)
    case 'sampling/createMessage':
      return checkCreateMessageResult(value)
    case 'roots/list':
      return checkListRootsResult(value)
  }
}

/** Why a child's request will never reach the client; other words are accepted and quoted in the message. */
export type AbandonReason = 'expired' | 'evicted' | 'uncovered' | 'shutdown' | 'cancelled'

/** The JSON-RPC code a 2025 client would have answered with, per reason. */
function abandonedError(method: InputMethod, why: string): { code: number; message: string } {
  switch (why) {
    case 'uncovered':
      // What a 2025 client without the capability answers: it has no handler for the method.
      return { code: ErrorCode.MethodNotFound, message: `The client does not support ${method} (it did not declare the capability)` }
    case 'expired':
      return { code: ErrorCode.RequestTimeout, message: `The client did not answer ${method} in time` }
    case 'shutdown':
      return { code: ErrorCode.ConnectionClosed, message: `The proxy is shutting down; ${method} was not answered` }
    case 'evicted':
      return { code: ErrorCode.InternalError, message: `${method} was dropped before the client answered (too many calls waiting for input)` }
    default:
      return { code: ErrorCode.InternalError, message: `The client will not answer ${method} (${why})` }
  }
}

/**
 * The answer the proxy gives the child for a request that will never reach the client (expired, evicted,
 * uncovered, shutdown): elicitation → the result `{action: 'cancel'}` (a valid answer, so the tool finishes
 * cleanly); sampling and roots → a JSON-RPC error object.
 */
export function abandonedAnswer(
  method: InputMethod,
  why: AbandonReason | (string & {}),
): { result: Record<string, unknown> } | { error: { code: number; message: string } } {
  if (method === 'elicitation/create') return { result: { action: 'cancel' } }
  return { error: abandonedError(method, why) }
}
