// MCP sessions through a load balancer, with the official clients, and a tally of what the wire showed:
// where each session was born (the `<instance>.` prefix of the id the proxy minted, checked against the
// Mcp-Proxy-Instance header), every 404 and every 5xx, and the calls answered.
// - Streamable HTTP: the v2 client (@modelcontextprotocol/client 2.4.0). Its transport throws on a 404 for a
//   session that is gone; it does not initialize again by itself (checked in its source: no 404 handling in
//   StreamableHTTPClientTransport or Client). So this driver does what the spec says a client MUST do on 404:
//   initialize a new session (without the id) and retry the failed request, once.
// - Legacy HTTP+SSE: the v1 client (@modelcontextprotocol/sdk 1.32.2) with its SSEClientTransport.
import { Client, SdkHttpError, StreamableHTTPClientTransport, type CallToolResult } from '@modelcontextprotocol/client'
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'

export interface Tally {
  /** Sessions born per instance: every initialize (re-initializations included) or GET /sse that minted an id. */
  born: Record<string, number>
  /** 404 answers, by verb. */
  notFound: { POST: number; GET: number; DELETE: number }
  /** Every 5xx answer a client saw: "<verb> <method> <status>". */
  serverErrors: string[]
  /** Operations that failed for good (after the one re-initialize a 404 allows). */
  failures: string[]
  /** Tool calls answered with the expected text. */
  calls: number
  /** Statuses of the legacy POST /messages. */
  messageStatuses: Record<number, number>
  /** A session id whose prefix disagrees with the Mcp-Proxy-Instance header of the same answer. */
  mismatches: string[]
}

export function newTally(): Tally {
  return { born: {}, notFound: { POST: 0, GET: 0, DELETE: 0 }, serverErrors: [], failures: [], calls: 0, messageStatuses: {}, mismatches: [] }
}

/** "i1=30 i2=30 i3=30" (instances in name order). */
export function bornLine(tally: Tally): string {
  return Object.keys(tally.born)
    .sort()
    .map((id) => `${id}=${tally.born[id]}`)
    .join(' ')
}

/** The instance tag of a session id (`i2.<uuid>` → `i2`), or '?' when it has none. */
export function tagOf(sessionId: string): string {
  const dot = sessionId.indexOf('.')
  return dot > 0 ? sessionId.slice(0, dot) : '?'
}

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** What one exchange was: its verb, the JSON-RPC method of its body (if any) and whether it was GET …/sse. */
function describeRequest(input: string | URL | Request, init?: RequestInit): { verb: string; method: string; sse: boolean } {
  const verb = init?.method ?? (input instanceof Request ? input.method : 'GET')
  let method = '-'
  if (typeof init?.body === 'string') {
    try {
      const body = JSON.parse(init.body) as { method?: unknown }
      if (typeof body.method === 'string') method = body.method
    } catch {
      // not JSON
    }
  }
  const url = new URL(input instanceof Request ? input.url : input.toString())
  return { verb, method, sse: verb === 'GET' && url.pathname.endsWith('/sse') }
}

/**
 * A fetch for a client transport that records into `tally`. `onAnswer` sees every answer (the session's own
 * bookkeeping: its last POST status, its birthplace).
 */
export function tallyingFetch(tally: Tally, onAnswer?: (verb: string, method: string, response: Response) => void): Fetch {
  return async (input, init) => {
    const { verb, method, sse } = describeRequest(input, init)
    const response = await fetch(input, init)
    const sessionId = response.headers.get('mcp-session-id')
    if (response.ok && sessionId !== null && (method === 'initialize' || sse)) {
      const tag = tagOf(sessionId)
      tally.born[tag] = (tally.born[tag] ?? 0) + 1
      const header = response.headers.get('mcp-proxy-instance')
      if (header !== tag) tally.mismatches.push(`${sessionId} answered with Mcp-Proxy-Instance ${String(header)}`)
    }
    if (response.status === 404 && (verb === 'POST' || verb === 'GET' || verb === 'DELETE')) tally.notFound[verb]++
    if (response.status >= 500) tally.serverErrors.push(`${verb} ${method} ${response.status}`)
    if (verb === 'POST' && new URL(input instanceof Request ? input.url : input.toString()).searchParams.has('sessionId')) {
      tally.messageStatuses[response.status] = (tally.messageStatuses[response.status] ?? 0) + 1
    }
    onAnswer?.(verb, method, response)
    return response
  }
}

function texts(result: unknown): string {
  return ((result as CallToolResult).content ?? []).flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('\n')
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** One Streamable HTTP session of the v2 client, re-initialized on a 404 as the spec requires. */
export class StreamSession {
  /** Where each incarnation was born (the first one first). */
  readonly births: string[] = []
  /** 404 answers to this session's POSTs. */
  notFoundPosts = 0
  reinitializations = 0
  calls = 0
  private client: Client | undefined
  private transport: StreamableHTTPClientTransport | undefined
  private lastPostStatus = 0
  private readonly fetch: Fetch

  constructor(
    readonly url: URL,
    readonly tally: Tally,
    readonly name: string,
    /** Initialize again on a 404 (what a client must do); off for the negative control, which counts the 404s. */
    readonly reinitialize = true,
  ) {
    this.fetch = tallyingFetch(tally, (verb, method, response) => {
      if (verb !== 'POST') return
      this.lastPostStatus = response.status
      if (response.status === 404) this.notFoundPosts++
      const id = response.headers.get('mcp-session-id')
      if (method === 'initialize' && response.ok && id !== null) this.births.push(tagOf(id))
    })
  }

  /** The instance of the current incarnation. */
  get instance(): string | undefined {
    return this.births.at(-1)
  }

  /** The session id of the current incarnation. */
  get sessionId(): string | undefined {
    return this.transport?.sessionId
  }

  /**
   * Open the session; a 404 on its first requests (the id went astray, e.g. through a balancer that does not
   * know its instance yet) is handled like any 404: initialize again, once. Throws when that fails too.
   */
  async start(): Promise<void> {
    try {
      await this.open()
    } catch (error) {
      const gone = (error instanceof SdkHttpError && error.status === 404) || this.lastPostStatus === 404
      if (!gone || !this.reinitialize) throw error
      this.reinitializations++
      await this.abandon()
      await this.open()
    }
  }

  /** initialize + notifications/initialized (+ the GET stream the client opens). Throws when that fails. */
  private async open(): Promise<void> {
    const transport = new StreamableHTTPClientTransport(this.url, { fetch: this.fetch })
    const client = new Client({ name: this.name, version: '1.0.0' })
    // The GET stream's reconnection errors after an instance dies are expected; the 404s are in the tally.
    client.onerror = () => undefined
    this.transport = transport
    this.client = client
    await client.connect(transport)
  }

  private async echo(text: string): Promise<void> {
    if (!this.client) throw new Error('not open')
    const result = await this.client.callTool({ name: 'echo', arguments: { text } })
    const got = texts(result)
    if (got !== text) throw new Error(`echo answered ${JSON.stringify(got)} for ${JSON.stringify(text)}`)
    this.calls++
    this.tally.calls++
  }

  /**
   * One echo call. On a 404 (the session is gone: its instance died) the session initializes again, without
   * the id, and the call is retried once; any other failure is recorded.
   */
  async call(text: string): Promise<void> {
    try {
      await this.echo(text)
      return
    } catch (error) {
      const gone = (error instanceof SdkHttpError && error.status === 404) || this.lastPostStatus === 404
      if (!gone || !this.reinitialize) {
        this.tally.failures.push(`${this.name} (${this.instance}) call ${text}: ${message(error)}`)
        return
      }
    }
    this.reinitializations++
    try {
      await this.abandon()
      await this.open()
      await this.echo(text)
    } catch (error) {
      this.tally.failures.push(`${this.name} re-initialized, call ${text}: ${message(error)}`)
    }
  }

  /** Drop the current incarnation without a DELETE (its instance is gone). */
  private async abandon(): Promise<void> {
    const client = this.client
    this.client = undefined
    this.transport = undefined
    await client?.close().catch(() => undefined)
  }

  /** End the session as a well-behaved client does: DELETE, then close. */
  async end(): Promise<void> {
    try {
      await this.transport?.terminateSession()
    } catch (error) {
      // 404: the session is not there (any more); what the client wanted. Counted in the tally's 404s.
      if (!(error instanceof SdkHttpError && error.status === 404)) this.tally.failures.push(`${this.name} (${this.instance}) DELETE: ${message(error)}`)
    }
    await this.abandon()
  }

  /** Close without a DELETE (the negative control cleans its sessions up on the instances directly). */
  async drop(): Promise<void> {
    await this.abandon()
  }
}

/**
 * One legacy HTTP+SSE session of the v1 client: GET /sse, `calls` echo calls over POST /messages, then close
 * (which ends the session on the proxy). Failures go to the tally; resolves with the instance it was born on.
 */
export async function legacySession(sse: URL, tally: Tally, name: string, calls: number): Promise<string | undefined> {
  let born: string | undefined
  const posts: string[] = []
  let postsSent = 0
  const tallying = tallyingFetch(tally, (verb, method, response) => {
    if (verb === 'POST') posts.push(`${method}:${response.status}`)
    const id = response.headers.get('mcp-session-id')
    if (verb === 'GET' && response.ok && id !== null) born = tagOf(id)
  })
  const fetch: Fetch = (input, init) => {
    if (init?.method === 'POST') postsSent++
    return tallying(input, init)
  }
  const client = new V1Client({ name, version: '1.0.0' })
  client.onerror = () => undefined
  try {
    await client.connect(new SSEClientTransport(sse, { fetch }))
    for (let i = 0; i < calls; i++) {
      const text = `${name} call ${i}`
      const result = await client.callTool({ name: 'echo', arguments: { text } })
      const got = texts(result)
      if (got !== text) throw new Error(`echo answered ${JSON.stringify(got)} for ${JSON.stringify(text)}`)
      tally.calls++
    }
    // The answer to the last call comes over the SSE stream, and can come before the 202 of its POST: wait
    // for the POSTs' own answers before closing (closing aborts a POST still in flight).
    const deadline = Date.now() + 5000
    while (posts.length < postsSent && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  } catch (error) {
    tally.failures.push(`${name} (${born}): ${message(error)}`)
  } finally {
    await client.close().catch(() => undefined)
  }
  return born
}
