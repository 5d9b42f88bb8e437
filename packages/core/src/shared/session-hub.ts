import type { JsonRpcMessage, JsonRpcNotification } from '../jsonrpc/schemas.js'
import type { Logger } from '../logger.js'
import { LOG_LEVELS, wantsLog } from '../modern/modern-call.js'
import type { PooledChild } from './lease-pool.js'
import type { SharedChildren } from './shared-children.js'

/** What the hub hands a session's notifications to. */
export interface HubMember {
  /** A notification of the server for this session's client (to its standalone stream). */
  notifyClient(message: JsonRpcNotification, text: string): void
}

/**
 * What the sessions of shared mode set on the children they share, kept per session by the proxy: the
 * log level (the children log at the most verbose level any session asked for; each session gets only
 * what its own level admits) and resource subscriptions (the primary child is subscribed to a URI while
 * any session is; an update goes only to the sessions subscribed to it). Other notifications of the
 * children (list changes) go to every session.
 */
export class SessionHub {
  #members = new Set<HubMember>()
  /** The sessions subscribed to each URI (an update goes to them). */
  #subscriptions = new Map<string, Set<HubMember>>()
  /** URIs the primary child is subscribed to. */
  #childSubscribed = new Set<string>()
  /** First subscriptions on their way to the child. */
  #pending = new Map<string, Promise<JsonRpcMessage | undefined>>()
  /** The level each session set (an index of LOG_LEVELS); a session not here gets every log the server sends. */
  #levels = new Map<HubMember, number>()
  /** How many sessions set each level: the children follow the lowest one with a count. */
  #levelCounts = LOG_LEVELS.map(() => 0)
  #childLevel: number | undefined
  #children: SharedChildren | undefined
  #logger: Logger

  constructor(logger: Logger) {
    this.#logger = logger
  }

  /** The children the hub sets levels and subscriptions on (they publish to the hub, so they come second). */
  bind(children: SharedChildren): void {
    this.#children = children
  }

  get members(): number {
    return this.#members.size
  }

  join(member: HubMember): void {
    this.#members.add(member)
  }

  /** The session ended: its subscriptions end with it (the child's too, if it was the last subscriber). */
  leave(member: HubMember): void {
    if (!this.#members.delete(member)) return
    for (const [uri, subscribers] of this.#subscriptions) if (subscribers.has(member)) this.unsubscribe(member, uri)
    const level = this.#levels.get(member)
    if (level === undefined) return
    this.#levels.delete(member)
    this.#levelCounts[level]!--
    this.#levelChanged()
  }

  /** A session asked for logs at `level` (an index of LOG_LEVELS) and above. */
  setLevel(member: HubMember, level: number): void {
    const previous = this.#levels.get(member)
    if (previous !== undefined) this.#levelCounts[previous]!--
    this.#levels.set(member, level)
    this.#levelCounts[level]!++
    this.#levelChanged()
  }

  /** Whether a log at `level` reaches `member` (everything, until it set a level). */
  admits(member: HubMember, level: unknown): boolean {
    const wanted = this.#levels.get(member)
    return wanted === undefined || wantsLog(wanted, level)
  }

  /** A notification of a child that no call is about: to every session it concerns. */
  publish(message: JsonRpcNotification, text: string): void {
    const params = message.params as { level?: unknown; uri?: unknown } | undefined
    if (message.method === 'notifications/message') {
      for (const member of this.#members) if (this.admits(member, params?.level)) member.notifyClient(message, text)
      return
    }
    if (message.method === 'notifications/resources/updated') {
      const subscribers = typeof params?.uri === 'string' ? this.#subscriptions.get(params.uri) : undefined
      for (const member of subscribers ?? []) member.notifyClient(message, text)
      return
    }
    for (const member of this.#members) member.notifyClient(message, text)
  }

  // A session's level changed (or it left): the children follow the most verbose level asked for (none
  // left: they keep the last one, since MCP has no way to unset it).
  #levelChanged(): void {
    const lowest = this.#levelCounts.findIndex((count) => count > 0)
    if (lowest === -1 || lowest === this.#childLevel) return
    this.#childLevel = lowest
    for (const pooled of this.#children?.children ?? []) this.#setLevel(pooled)
  }

  /**
   * Subscribe a session to `uri`; the first subscriber subscribes the primary child (later ones, even
   * while that is on its way, share its answer). Resolves with the child's refusal, or undefined.
   */
  async subscribe(member: HubMember, uri: string): Promise<JsonRpcMessage | undefined> {
    const wanting = this.#subscriptions.get(uri) ?? new Set()
    wanting.add(member)
    this.#subscriptions.set(uri, wanting)
    if (this.#childSubscribed.has(uri)) return undefined
    let pending = this.#pending.get(uri)
    if (!pending) {
      pending = this.#ask(this.#children?.primary, 'resources/subscribe', { uri })
      this.#pending.set(uri, pending)
      void pending.then((answer) => this.#subscribed(uri, answer))
    }
    const answer = await pending
    if (!answer || !('error' in answer)) return undefined
    const refused = this.#subscriptions.get(uri)
    refused?.delete(member)
    if (refused?.size === 0) this.#subscriptions.delete(uri)
    return answer
  }

  // The child answered the first subscription to `uri`: it is subscribed, unless every session let go meanwhile.
  #subscribed(uri: string, answer: JsonRpcMessage | undefined): void {
    this.#pending.delete(uri)
    if (answer && 'error' in answer) return // each waiting subscriber takes itself off (subscribe)
    this.#childSubscribed.add(uri)
    if (!this.#subscriptions.get(uri)?.size) this.#unsubscribeChild(uri)
  }

  unsubscribe(member: HubMember, uri: string): void {
    const subscribers = this.#subscriptions.get(uri)
    if (!subscribers?.delete(member) || subscribers.size > 0) return
    this.#subscriptions.delete(uri)
    // One still on its way is undone when the child answers it (#subscribed).
    if (this.#childSubscribed.has(uri)) this.#unsubscribeChild(uri)
  }

  #unsubscribeChild(uri: string): void {
    this.#subscriptions.delete(uri)
    this.#childSubscribed.delete(uri)
    void this.#ask(this.#children?.primary, 'resources/unsubscribe', { uri })
  }

  /** A child is up: it gets the level in force, and the primary every subscription (a restarted one has none). */
  childUp(pooled: PooledChild, primary: boolean): void {
    if (this.#childLevel !== undefined) this.#setLevel(pooled)
    if (primary) for (const uri of this.#childSubscribed) void this.#ask(pooled, 'resources/subscribe', { uri })
  }

  #setLevel(pooled: PooledChild): void {
    if (this.#childLevel === undefined || pooled.child.state !== 'up') return
    void this.#ask(pooled, 'logging/setLevel', { level: LOG_LEVELS[this.#childLevel]! })
  }

  async #ask(pooled: PooledChild | undefined, method: string, params: Record<string, unknown>): Promise<JsonRpcMessage | undefined> {
    if (!pooled || !this.#children) return undefined
    const answer = await this.#children.ask(pooled, method, params)
    if ('error' in answer) this.#logger.debug({ method, error: answer.error.message }, 'the MCP server refused a request the proxy made for its sessions')
    return answer
  }
}
