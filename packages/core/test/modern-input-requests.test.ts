// A 2025 child's mid-call requests as 2026-07-28 input requests, and the client's answers back as the
// results the child waits for: keys, shapes (checked against the SDKs on both sides), capability rules.
import { inputRequired } from '@modelcontextprotocol/server'
import { CreateMessageResultWithToolsSchema, ElicitResultSchema, ListRootsResultSchema } from '@modelcontextprotocol/sdk/types.js'
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../src/jsonrpc/errors.js'
import {
  INPUT_KEY_META,
  abandonedAnswer,
  covers,
  inputKeys,
  isInputMethod,
  mergeRequirements,
  requiredCapability,
  toInputRequest,
  validateInputResponse,
  type InputMethod,
} from '../src/modern/input-requests.js'

const ELICIT: InputMethod = 'elicitation/create'
const SAMPLE: InputMethod = 'sampling/createMessage'
const ROOTS: InputMethod = 'roots/list'

const hinted = (method: InputMethod, hint: unknown, params: Record<string, unknown> = {}) => ({ method, params: { ...params, _meta: { [INPUT_KEY_META]: hint } } })
const bare = (method: InputMethod, params: unknown = {}) => ({ method, params })

/** What a v1 TypeScript child sends for `elicitInput` (form) and for a URL elicitation. */
const FORM_PARAMS = {
  mode: 'form',
  message: 'Your name?',
  requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
}
const URL_PARAMS = { mode: 'url', message: 'Sign in', url: 'https://auth.example/start', elicitationId: 'e-1' }
const SAMPLING_PARAMS = { messages: [{ role: 'user', content: { type: 'text', text: 'Capital of France?' } }], maxTokens: 100 }

describe('isInputMethod', () => {
  it('is true for the three requests 2026 carries in-band, false for anything else', () => {
    expect([ELICIT, SAMPLE, ROOTS].every(isInputMethod)).toBe(true)
    for (const method of ['ping', 'tools/call', 'notifications/message', 'elicitation/complete', 'roots/list ', '']) expect(isInputMethod(method)).toBe(false)
  })
})

describe('inputKeys', () => {
  it('uses the key hint stripped of nothing else, e.g. the conformance key user_name', () => {
    expect(INPUT_KEY_META).toBe('stdio-proxy/inputKey')
    expect(inputKeys([hinted(ELICIT, 'user_name', FORM_PARAMS)])).toEqual(['user_name'])
  })

  it('numbers requests without a hint per kind, in batch order', () => {
    const batch = [bare(ELICIT), bare(SAMPLE), bare(ELICIT), bare(ROOTS), bare(SAMPLE), bare(ELICIT)]
    expect(inputKeys(batch)).toEqual(['elicitation-1', 'sampling-1', 'elicitation-2', 'roots-1', 'sampling-2', 'elicitation-3'])
  })

  it('numbers every request whose hint is repeated in the batch', () => {
    const batch = [hinted(ELICIT, 'same'), hinted(SAMPLE, 'same'), hinted(ROOTS, 'own')]
    expect(inputKeys(batch)).toEqual(['elicitation-1', 'sampling-1', 'own'])
  })

  it('skips keys already taken (earlier answers of the call), for hints and numbers alike', () => {
    const taken = new Set(['user_name', 'elicitation-1', 'elicitation-2', 'roots-1'])
    expect(inputKeys([hinted(ELICIT, 'user_name'), bare(ELICIT), bare(ROOTS)], taken)).toEqual(['elicitation-3', 'elicitation-4', 'roots-2'])
  })

  it('never gives a number another request holds as its hint', () => {
    const batch = [bare(ELICIT), hinted(SAMPLE, 'elicitation-1'), bare(ELICIT)]
    expect(inputKeys(batch)).toEqual(['elicitation-2', 'elicitation-1', 'elicitation-3'])
  })

  it('ignores hints that are not a non-empty string of at most 256 characters, and __proto__', () => {
    const batch = [hinted(ELICIT, ''), hinted(ELICIT, 42), hinted(ELICIT, null), hinted(ELICIT, 'k'.repeat(257)), hinted(ELICIT, '__proto__'), hinted(ELICIT, 'k'.repeat(256))]
    expect(inputKeys(batch)).toEqual(['elicitation-1', 'elicitation-2', 'elicitation-3', 'elicitation-4', 'elicitation-5', 'k'.repeat(256)])
  })

  it('copes with params or _meta that are not objects', () => {
    expect(inputKeys([bare(ROOTS, undefined), bare(ROOTS, null), bare(ROOTS, { _meta: 'x' }), bare(ROOTS, [1])])).toEqual(['roots-1', 'roots-2', 'roots-3', 'roots-4'])
  })

  it('gives keys unique within the batch and outside `taken`', () => {
    const taken = new Set(['a', 'sampling-1'])
    const batch = [hinted(ELICIT, 'a'), hinted(SAMPLE, 'b'), hinted(SAMPLE, 'b'), bare(SAMPLE), hinted(ROOTS, 'roots-1'), bare(ROOTS)]
    const keys = inputKeys(batch, taken)
    expect(keys).toEqual(['elicitation-1', 'sampling-2', 'sampling-3', 'sampling-4', 'roots-1', 'roots-2'])
    expect(new Set(keys).size).toBe(keys.length)
    for (const key of keys) expect(taken.has(key)).toBe(false)
  })

  it('returns nothing for an empty batch', () => {
    expect(inputKeys([])).toEqual([])
  })
})

describe('toInputRequest', () => {
  it('drops _meta (the key hint with it), task and elicitationId, and keeps the rest', () => {
    const params = { ...URL_PARAMS, task: { ttl: 1000 }, _meta: { [INPUT_KEY_META]: 'login', 'io.modelcontextprotocol/related-task': { taskId: 't' } } }
    expect(toInputRequest(ELICIT, params)).toEqual({ method: ELICIT, params: { mode: 'url', message: 'Sign in', url: 'https://auth.example/start' } })
  })

  it('embeds a v1 child\'s form and URL elicitation exactly as the SDK\'s own builders do', () => {
    const form = inputRequired.elicit({ message: FORM_PARAMS.message, requestedSchema: FORM_PARAMS.requestedSchema } as Parameters<typeof inputRequired.elicit>[0])
    expect(toInputRequest(ELICIT, { ...FORM_PARAMS, _meta: { progressToken: 3 } })).toEqual(form)
    const url = inputRequired.elicitUrl({ message: URL_PARAMS.message, url: URL_PARAMS.url })
    expect(toInputRequest(ELICIT, URL_PARAMS)).toEqual(url)
  })

  it('embeds sampling as the SDK builder does, without tools[].execution (deleted in 2026-07-28)', () => {
    expect(toInputRequest(SAMPLE, SAMPLING_PARAMS)).toEqual(inputRequired.createMessage(SAMPLING_PARAMS as Parameters<typeof inputRequired.createMessage>[0]))
    const tool = { name: 'lookup', inputSchema: { type: 'object' } }
    const withTools = toInputRequest(SAMPLE, { ...SAMPLING_PARAMS, tools: [{ ...tool, execution: { taskSupport: 'optional' } }, tool, 'odd'], toolChoice: { mode: 'auto' } })
    expect(withTools.params.tools).toEqual([tool, tool, 'odd'])
    expect(withTools.params.toolChoice).toEqual({ mode: 'auto' })
  })

  it('embeds roots/list with empty params (the schema allows params with an optional _meta)', () => {
    expect(toInputRequest(ROOTS, undefined)).toEqual({ method: ROOTS, params: {} })
    expect(toInputRequest(ROOTS, { _meta: { [INPUT_KEY_META]: 'r' } })).toEqual({ method: ROOTS, params: {} })
  })

  it('never changes the child\'s request', () => {
    const params = { ...SAMPLING_PARAMS, tools: [{ name: 't', inputSchema: { type: 'object' }, execution: {} }], _meta: { [INPUT_KEY_META]: 'k' } }
    const before = structuredClone(params)
    toInputRequest(SAMPLE, params)
    expect(params).toEqual(before)
  })
})

describe('requiredCapability', () => {
  it('asks elicitation.form for form mode or no mode, elicitation.url for URL mode', () => {
    expect(requiredCapability(ELICIT, FORM_PARAMS)).toEqual({ elicitation: { form: {} } })
    expect(requiredCapability(ELICIT, { message: 'no mode', requestedSchema: {} })).toEqual({ elicitation: { form: {} } })
    expect(requiredCapability(ELICIT, URL_PARAMS)).toEqual({ elicitation: { url: {} } })
  })

  it('asks sampling, or sampling.tools when tools or toolChoice is present', () => {
    expect(requiredCapability(SAMPLE, SAMPLING_PARAMS)).toEqual({ sampling: {} })
    expect(requiredCapability(SAMPLE, { ...SAMPLING_PARAMS, tools: [] })).toEqual({ sampling: { tools: {} } })
    expect(requiredCapability(SAMPLE, { ...SAMPLING_PARAMS, toolChoice: { mode: 'none' } })).toEqual({ sampling: { tools: {} } })
  })

  it('asks roots for roots/list, and copes with params that are not objects', () => {
    expect(requiredCapability(ROOTS, undefined)).toEqual({ roots: {} })
    expect(requiredCapability(ELICIT, null)).toEqual({ elicitation: { form: {} } })
    expect(requiredCapability(SAMPLE, 'x')).toEqual({ sampling: {} })
  })
})

describe('covers', () => {
  const FORM = { elicitation: { form: {} } }
  const URL = { elicitation: { url: {} } }
  const SAMPLING = { sampling: {} }
  const TOOLS = { sampling: { tools: {} } }
  const ROOTS_CAP = { roots: {} }

  it('reads a bare elicitation: {} as form support only', () => {
    expect(covers({ elicitation: {} }, FORM)).toBe(true)
    expect(covers({ elicitation: {} }, URL)).toBe(false)
  })

  it('takes declared modes literally: url alone does not cover form', () => {
    expect(covers({ elicitation: { url: {} } }, URL)).toBe(true)
    expect(covers({ elicitation: { url: {} } }, FORM)).toBe(false)
    expect(covers({ elicitation: { form: {} } }, URL)).toBe(false)
    expect(covers({ elicitation: { form: {}, url: {} } }, FORM)).toBe(true)
    expect(covers({ elicitation: { form: {}, url: {} } }, URL)).toBe(true)
  })

  it('needs sampling.tools for sampling with tools; sampling.tools also covers plain sampling', () => {
    expect(covers({ sampling: {} }, SAMPLING)).toBe(true)
    expect(covers({ sampling: {} }, TOOLS)).toBe(false)
    expect(covers({ sampling: { context: {} } }, TOOLS)).toBe(false)
    expect(covers({ sampling: { tools: {} } }, TOOLS)).toBe(true)
    expect(covers({ sampling: { tools: {} } }, SAMPLING)).toBe(true)
  })

  it('needs roots for roots/list (the conformance harness declares roots.listChanged)', () => {
    expect(covers({ roots: { listChanged: true } }, ROOTS_CAP)).toBe(true)
    expect(covers({ sampling: {}, elicitation: {} }, ROOTS_CAP)).toBe(false)
  })

  it('covers nothing from an empty, null or malformed declaration', () => {
    for (const required of [FORM, URL, SAMPLING, TOOLS, ROOTS_CAP]) {
      expect(covers({}, required)).toBe(false)
      expect(covers({ elicitation: null, sampling: true, roots: 'yes' }, required)).toBe(false)
      expect(covers(null as unknown as Record<string, unknown>, required)).toBe(false)
    }
    expect(covers({ elicitation: { form: null } }, FORM)).toBe(true) // null member: read as absent, so bare → form
    expect(covers({ elicitation: { url: null } }, URL)).toBe(false)
  })

  it('answers the conformance capability check: a client with sampling only is not asked to elicit', () => {
    const declared = { sampling: {} }
    expect(covers(declared, requiredCapability(ELICIT, FORM_PARAMS))).toBe(false)
    expect(covers(declared, requiredCapability(SAMPLE, SAMPLING_PARAMS))).toBe(true)
  })

  it('covers an empty requirement whatever was declared', () => {
    expect(covers({}, {})).toBe(true)
  })
})

describe('mergeRequirements', () => {
  it('unites the members of each capability', () => {
    const merged = mergeRequirements([{ sampling: {} }, { elicitation: { form: {} } }, { sampling: { tools: {} } }, { elicitation: { url: {} } }, { roots: {} }])
    expect(merged).toEqual({ sampling: { tools: {} }, elicitation: { form: {}, url: {} }, roots: {} })
  })

  it('gives the -32021 data the conformance suite expects for a sampling tool: {sampling: {}}', () => {
    expect({ requiredCapabilities: mergeRequirements([requiredCapability(SAMPLE, SAMPLING_PARAMS)]) }).toEqual({ requiredCapabilities: { sampling: {} } })
  })

  it('gives {} for no requirements and does not alias its inputs', () => {
    expect(mergeRequirements([])).toEqual({})
    const fragment = { elicitation: { form: {} } }
    const merged = mergeRequirements([fragment, { elicitation: { url: {} } }])
    expect(fragment).toEqual({ elicitation: { form: {} } })
    expect(merged.elicitation).not.toBe(fragment.elicitation)
  })
})

describe('validateInputResponse: ElicitResult', () => {
  it('accepts each action, with or without content, and the child\'s SDK accepts what it returns', () => {
    const answers = [
      { action: 'accept', content: { name: 'Alice', age: 30, subscribe: true, tags: ['a', 'b'] } },
      { action: 'accept' },
      { action: 'decline' },
      { action: 'cancel' },
    ]
    for (const answer of answers) {
      const checked = validateInputResponse(ELICIT, answer)
      expect(checked).toEqual({ ok: true, result: answer })
      if (checked.ok) expect(checked.result).not.toBe(answer)
      if (checked.ok) expect(ElicitResultSchema.safeParse(checked.result).success).toBe(true)
    }
  })

  it('passes unknown members (and _meta) through, as a copy', () => {
    const answer = { action: 'accept', content: { name: 'Alice' }, _meta: { trace: 1 }, extra: 'kept' }
    const checked = validateInputResponse(ELICIT, answer)
    expect(checked).toEqual({ ok: true, result: answer })
    if (checked.ok) expect(checked.result).not.toBe(answer)
  })

  it('reads content: null as absent, as the 2025 SDKs do', () => {
    expect(validateInputResponse(ELICIT, { action: 'decline', content: null })).toEqual({ ok: true, result: { action: 'decline' } })
  })

  it('refuses a missing or unknown action, and content that is not an object of primitives or string arrays', () => {
    const bad = [
      {},
      { action: 'ACCEPT' },
      { action: 'accepted', content: {} },
      { content: { name: 'Alice' } },
      { action: 'accept', content: 'Alice' },
      { action: 'accept', content: ['Alice'] },
      { action: 'accept', content: { name: { first: 'Alice' } } },
      { action: 'accept', content: { tags: [1, 2] } },
      { action: 'accept', content: { name: null } },
    ]
    for (const answer of bad) {
      const checked = validateInputResponse(ELICIT, answer)
      expect(checked.ok, JSON.stringify(answer)).toBe(false)
      if (!checked.ok) expect(checked.reason).toMatch(/ElicitResult/)
    }
  })

  it('refuses the conformance validate-input values: a number, null, and other non-objects', () => {
    for (const value of [12345, null, undefined, 'accept', [], [{ action: 'accept' }], true]) {
      expect(validateInputResponse(ELICIT, value)).toEqual({ ok: false, reason: 'the response to elicitation/create must be an object' })
    }
  })
})

describe('validateInputResponse: CreateMessageResult', () => {
  const RESULT = { role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'test-model', stopReason: 'endTurn' }

  it('accepts a single block or an array of blocks, and the child\'s SDK accepts what it returns', () => {
    const answers = [RESULT, { role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'tool_use', id: 'u1', name: 'lookup', input: {} }], model: 'm', stopReason: 'toolUse' }, { role: 'user', content: { type: 'image', data: 'AA==', mimeType: 'image/png' }, model: 'm' }]
    for (const answer of answers) {
      const checked = validateInputResponse(SAMPLE, answer)
      expect(checked).toEqual({ ok: true, result: answer })
      if (checked.ok) expect(checked.result).not.toBe(answer)
      if (checked.ok) expect(CreateMessageResultWithToolsSchema.safeParse(checked.result).success).toBe(true)
    }
  })

  it('passes unknown members through', () => {
    expect(validateInputResponse(SAMPLE, { ...RESULT, usage: { tokens: 3 } })).toEqual({ ok: true, result: { ...RESULT, usage: { tokens: 3 } } })
  })

  it('refuses a wrong role, content without a type, a missing model or a non-string stopReason', () => {
    const bad = [
      { ...RESULT, role: 'system' },
      { ...RESULT, role: undefined },
      { ...RESULT, content: undefined },
      { ...RESULT, content: 'Paris' },
      { ...RESULT, content: { text: 'Paris' } },
      { ...RESULT, content: [{ type: 'text', text: 'a' }, { text: 'b' }] },
      { ...RESULT, model: undefined },
      { ...RESULT, model: 3 },
      { ...RESULT, stopReason: 1 },
    ]
    for (const answer of bad) expect(validateInputResponse(SAMPLE, answer).ok, JSON.stringify(answer)).toBe(false)
    expect(validateInputResponse(SAMPLE, null).ok).toBe(false)
    // An ElicitResult is not a sampling answer.
    expect(validateInputResponse(SAMPLE, { action: 'accept' }).ok).toBe(false)
  })
})

describe('validateInputResponse: ListRootsResult', () => {
  it('accepts file:// roots with optional names, and none, and the child\'s SDK accepts what it returns', () => {
    const answers = [{ roots: [{ uri: 'file:///home/alice/project', name: 'project' }, { uri: 'file:///tmp', _meta: { x: 1 } }] }, { roots: [] }]
    for (const answer of answers) {
      const checked = validateInputResponse(ROOTS, answer)
      expect(checked).toEqual({ ok: true, result: answer })
      if (checked.ok) expect(checked.result).not.toBe(answer)
      if (checked.ok) expect(ListRootsResultSchema.safeParse(checked.result).success).toBe(true)
    }
  })

  it('refuses a missing roots array, a root without a string uri, a non-file uri and a non-string name', () => {
    const bad = [{}, { roots: 'file:///a' }, { roots: [null] }, { roots: [{ name: 'x' }] }, { roots: [{ uri: 1 }] }, { roots: [{ uri: 'https://example.com' }] }, { roots: [{ uri: 'file:///a', name: 2 }] }]
    for (const answer of bad) expect(validateInputResponse(ROOTS, answer).ok, JSON.stringify(answer)).toBe(false)
    expect(validateInputResponse(ROOTS, { roots: [{ uri: 'file:///a' }, { uri: 'http://b' }] })).toEqual({ ok: false, reason: 'roots[1].uri must be a file:// URI' })
  })
})

describe('abandonedAnswer', () => {
  const REASONS = ['expired', 'evicted', 'uncovered', 'shutdown', 'cancelled', 'something else']

  it('cancels an elicitation, whatever the reason (a valid answer, so the tool finishes cleanly)', () => {
    for (const why of REASONS) {
      const answer = abandonedAnswer(ELICIT, why)
      expect(answer).toEqual({ result: { action: 'cancel' } })
      if ('result' in answer) expect(ElicitResultSchema.safeParse(answer.result).success).toBe(true)
    }
  })

  it('answers sampling and roots with a JSON-RPC error naming the method', () => {
    for (const method of [SAMPLE, ROOTS]) {
      for (const why of REASONS) {
        const answer = abandonedAnswer(method, why)
        expect(answer).toEqual({ error: { code: expect.any(Number) as number, message: expect.stringContaining(method) as string } })
      }
    }
  })

  it('answers with the code a 2025 client would have: no handler, timeout, connection closed', () => {
    const code = (why: string) => ('error' in abandonedAnswer(SAMPLE, why) ? (abandonedAnswer(SAMPLE, why) as { error: { code: number } }).error.code : undefined)
    expect(code('uncovered')).toBe(ErrorCode.MethodNotFound)
    expect(code('expired')).toBe(ErrorCode.RequestTimeout)
    expect(code('shutdown')).toBe(ErrorCode.ConnectionClosed)
    expect(code('evicted')).toBe(ErrorCode.InternalError)
    expect(abandonedAnswer(ROOTS, 'lease lost')).toEqual({ error: { code: ErrorCode.InternalError, message: 'The client will not answer roots/list (lease lost)' } })
  })
})
