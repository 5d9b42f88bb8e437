// End to end: several proxy instances behind the shipped load-balancer configurations, with real HAProxy
// (deploy/haproxy/haproxy.cfg, unchanged, only its environment variables set) and real nginx
// (deploy/nginx/nginx.conf, unchanged, with rendered upstreams.conf and server.conf), driven by the official
// clients (v2 for Streamable HTTP, v1 for legacy HTTP+SSE; see lb/sessions.ts).
//
// Each pass starts three instances of the built CLI on 127.0.0.1 (`--port 0 --instance-id iN --drain-timeout
// 10000 --max-sessions 40 -- node fixtures/echo-server.mjs`) and one load balancer on a free loopback port,
// then, in order:
//   spread    90 sessions x 5 calls: sessions born per instance (the id's `iN.` prefix, checked against the
//             Mcp-Proxy-Instance header), 0 x 404, 0 x 5xx;
//   legacy    30 HTTP+SSE sessions x 5 calls: every POST /messages 202, every answer back on its stream;
//   control   (nginx pass) the broken recipe, `hash $http_mcp_session_id`: most sessions fail on their first
//             request after initialize, which shows the spread scenario can fail;
//   crash     60 sessions x 10 calls, i3 `kill -9`ed after round 3: each of its sessions sees exactly one 404,
//             initializes again elsewhere and goes on; 0 x 5xx; the other sessions see nothing;
//   drain     SIGTERM to i2 mid-run: its /ready is 503 and a direct initialize gets 503 + Retry-After; no new
//             session lands on it through the balancer; its open sessions go on calling for 6 s (past the
//             moment HAProxy's check marks it DOWN) and every call is answered; once they end (DELETE) it
//             exits 0;
//   scale-up  a 4th instance (HAProxy: runtime API `add server`; nginx: re-rendered upstreams + reload): new
//             sessions reach it, and no session sees a 404.
// Each scenario prints one line with its numbers ("[lb] …"). When haproxy or nginx is not installed, that pass
// is skipped and says so in its title (CI installs both: .ci/run). LB_KEEP=1 keeps each pass's temp directory
// with the balancer's and the instances' logs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ECHO_SERVER, ROOT, marker, processesWith, startProxy, waitFor, within, MCP_HEADERS, type Proxy } from './helpers.js'
import { findBinary, inPool } from './lb/daemons.js'
import { HAPROXY_CFG, startHaproxy, type Haproxy } from './lb/haproxy.js'
import { NGINX_DIR, nginxCheck, renderHashConfig, renderUpstreams, startNginx, type Instances, type Nginx } from './lb/nginx.js'
import { StreamSession, bornLine, legacySession, newTally, type Tally } from './lb/sessions.js'

const HAPROXY = findBinary('haproxy')
const NGINX = findBinary('nginx')
/** The drain timeout of the test's instances: bounded, and long enough for the drain scenario to finish first. */
const DRAIN_MS = 10_000
/**
 * Sessions per instance: the crash scenario puts 60 sessions on two instances after the kill (30 each, with
 * their GET streams open, so none is idle enough to be evicted); the default 32 would leave no margin.
 */
const MAX_SESSIONS = 40

function report(line: string): void {
  console.log(`[lb] ${line}`)
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** No failure, no 5xx, no 404, no header disagreement: what a healthy run through a balancer shows. */
function expectClean(tally: Tally, context: string): void {
  expect(tally.failures, context).toEqual([])
  expect(tally.serverErrors, context).toEqual([])
  expect(tally.mismatches, context).toEqual([])
  expect(tally.notFound, context).toEqual({ POST: 0, GET: 0, DELETE: 0 })
}

function summary(tally: Tally): string {
  return `born ${bornLine(tally)}; calls ${tally.calls}; 404 POST/GET/DELETE ${tally.notFound.POST}/${tally.notFound.GET}/${tally.notFound.DELETE}; 5xx ${tally.serverErrors.length}; failures ${tally.failures.length}`
}

interface Instance {
  id: string
  proxy: Proxy
  /** 127.0.0.1:PORT */
  address: string
}

/** The proxy instances of one pass; their echo-server children carry one marker, for the leftover check. */
class Fleet {
  readonly mark = marker()
  readonly all = new Map<string, Instance>()

  async start(id: string): Promise<Instance> {
    const proxy = await startProxy([process.execPath, ECHO_SERVER, this.mark], [ECHO_SERVER, this.mark], ['--instance-id', id, '--drain-timeout', String(DRAIN_MS), '--max-sessions', String(MAX_SESSIONS)])
    const instance = { id, proxy, address: new URL(proxy.base).host }
    this.all.set(id, instance)
    return instance
  }

  get(id: string): Instance {
    const instance = this.all.get(id)
    if (!instance) throw new Error(`no instance ${id}`)
    return instance
  }

  /** The instances whose process still runs. */
  live(): Instance[] {
    return [...this.all.values()].filter((i) => i.proxy.proc.exitCode === null && i.proxy.proc.signalCode === null)
  }

  /** Stop every instance still running (SIGTERM: it drains, which is instant with no session open). */
  async stopAll(): Promise<{ codes: Record<string, number | string>; leftovers: number[] }> {
    const codes: Record<string, number | string> = {}
    await Promise.all(
      [...this.all.values()].map(async (i) => {
        codes[i.id] = (await i.proxy.stop()).code
      }),
    )
    const leftovers = processesWith(ECHO_SERVER, this.mark)
    return { codes, leftovers }
  }
}

/** Sessions open on each live instance, from its /ready ("i1=0 i2=0 i3=0"). */
async function sessionsOpen(fleet: Fleet): Promise<string> {
  const parts = await Promise.all(
    fleet.live().map(async (i) => {
      const response = await fetch(new URL('/ready', i.proxy.base)).catch(() => undefined)
      const body = response ? ((await response.json()) as { sessions?: number }) : {}
      return `${i.id}=${String(body.sessions)}`
    }),
  )
  return parts.sort().join(' ')
}

function instancesOf(list: Instance[]): Instances {
  return Object.fromEntries(list.map((i) => [i.id, i.address]))
}

/** What a pass needs from its balancer. */
interface Balancer {
  /** http://127.0.0.1:PORT */
  base: string
  /** HAProxy's view of a server (UP, DOWN …); undefined for nginx, which has no active checks. */
  serverState?: (id: string) => Promise<string | undefined>
  /** Put a new instance into rotation (with the instances alive now) and wait until it is. */
  add: (instance: Instance, live: Instance[]) => Promise<string>
  stop: () => Promise<void>
  output: () => string
}

/**
 * With HAProxy: start watching (every 50 ms, for at most `forMs`) for server `id` to be DOWN. `stop()` ends the
 * watch and resolves with the ms from `since` to the first DOWN seen, or undefined.
 */
function watchDown(balancer: Balancer, id: string, since: number, forMs: number): { stop: () => Promise<number | undefined> } {
  let seen: number | undefined
  let stopped = false
  const watching = (async () => {
    while (balancer.serverState && !stopped && seen === undefined && performance.now() - since < forMs) {
      if ((await balancer.serverState(id))?.startsWith('DOWN')) seen = performance.now() - since
      else await sleep(50)
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await watching
      return seen
    },
  }
}

function haproxyBalancer(haproxy: Haproxy): Balancer {
  return {
    base: haproxy.base,
    serverState: async (id) => (await haproxy.states())[id],
    add: async (instance) => {
      // A server added at run time inherits nothing from default-server (so its settings here, as in the
      // comment of haproxy.cfg) and starts in maintenance: enable its health check, then the server.
      const answers = [
        await haproxy.admin(`add server mcp/${instance.id} ${instance.address} check inter 2s fall 2 rise 2 observe layer4 error-limit 1 on-error mark-down`),
        await haproxy.admin(`enable health mcp/${instance.id}`),
        await haproxy.admin(`enable server mcp/${instance.id}`),
      ]
      let states: Record<string, string> = {}
      await waitFor(
        async () => (states = await haproxy.states())[instance.id]?.startsWith('UP') === true,
        10_000,
        () => `mcp/${instance.id} UP; states ${JSON.stringify(states)}; answers ${JSON.stringify(answers)}`,
      )
      return `runtime API: ${answers.map((a) => a.trim()).filter((a) => a !== '').join(' / ')}`
    },
    stop: async () => {
      await haproxy.daemon.stop()
    },
    output: haproxy.daemon.output,
  }
}

function nginxBalancer(nginx: Nginx): Balancer {
  return {
    base: nginx.base,
    add: async (instance, live) => {
      await nginx.reload(instancesOf(live))
      // The reload is in effect once a request tagged with the new instance is routed to it (the instance
      // answers 404 for the unknown id, with its Mcp-Proxy-Instance header).
      let seen = ''
      await waitFor(
        async () => {
          try {
            const response = await fetch(`${nginx.base}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': `${instance.id}.probe` } })
            await response.arrayBuffer()
            seen = `${response.status} ${response.headers.get('mcp-proxy-instance')}`
            return response.headers.get('mcp-proxy-instance') === instance.id
          } catch (error) {
            // an idle keep-alive connection the old workers close as the reload happens
            seen = error instanceof Error ? `${error.message} (${String(error.cause)})` : String(error)
            return false
          }
        },
        10_000,
        () => `nginx to route tag ${instance.id}; last answer ${seen}`,
      )
      return `nginx -s reload with upstreams ${Object.keys(instancesOf(live)).join(',')}`
    },
    stop: async () => {
      const workersLeft = await nginx.stop()
      if (workersLeft.length > 0) throw new Error(`nginx workers left after stop: ${workersLeft.join(',')}`)
    },
    output: nginx.daemon.output,
  }
}

/** Sessions opened by a scenario, so afterAll can close them whatever happened. */
const openSessions = new Set<StreamSession>()

function session(url: URL, tally: Tally, name: string, reinitialize = true): StreamSession {
  const s = new StreamSession(url, tally, name, reinitialize)
  openSessions.add(s)
  return s
}

async function openOrRecord(s: StreamSession): Promise<boolean> {
  try {
    await s.start()
    return true
  } catch (error) {
    s.tally.failures.push(`${s.name} initialize: ${error instanceof Error ? error.message : String(error)}`)
    return false
  }
}

/** `count` sessions × `calls` echo calls, `parallel` sessions at a time, each ended with DELETE. */
async function runSessions(url: URL, tally: Tally, prefix: string, count: number, calls: number, parallel: number): Promise<StreamSession[]> {
  const sessions = Array.from({ length: count }, (_, i) => session(url, tally, `${prefix}${i}`))
  await inPool(sessions, parallel, async (s) => {
    if (!(await openOrRecord(s))) return
    for (let c = 0; c < calls; c++) await s.call(`${s.name} call ${c}`)
    await s.end()
    openSessions.delete(s)
  })
  return sessions
}

function lbPass(kind: 'haproxy' | 'nginx', binary: string | undefined): void {
  const title = binary
    ? `${kind} (${binary}) in front of three proxy instances`
    : `${kind} in front of three proxy instances: SKIPPED, ${kind} is not installed (apt-get install ${kind === 'nginx' ? 'nginx-light' : 'haproxy'}; CI does)`
  describe.skipIf(binary === undefined)(title, { timeout: 40_000 }, () => {
    const fleet = new Fleet()
    let dir = ''
    let lb: Balancer | undefined
    const extraBalancers: Balancer[] = []
    let passStart = 0

    const mcp = (): URL => new URL('/mcp', lb!.base)

    beforeAll(async () => {
      passStart = performance.now()
      dir = mkdtempSync(join(tmpdir(), `mcp-lb-${kind}-`))
      const [i1, i2, i3] = await Promise.all(['i1', 'i2', 'i3'].map((id) => fleet.start(id)))
      if (kind === 'haproxy') {
        lb = haproxyBalancer(await startHaproxy(binary!, dir, { I1: i1!.address, I2: i2!.address, I3: i3!.address }))
      } else {
        lb = nginxBalancer(await startNginx(binary!, join(dir, 'map'), { instances: instancesOf([i1!, i2!, i3!]) }))
      }
    }, 30_000)

    afterAll(async () => {
      await Promise.all([...openSessions].map((s) => s.drop()))
      openSessions.clear()
      if (process.env.LB_KEEP && lb) {
        const { writeFileSync } = await import('node:fs')
        writeFileSync(join(dir, 'lb.log'), lb.output())
        for (const i of fleet.all.values()) writeFileSync(join(dir, `${i.id}.log`), i.proxy.stderr())
      }
      const errors: string[] = []
      for (const balancer of [...extraBalancers, ...(lb ? [lb] : [])]) {
        await balancer.stop().catch((error: unknown) => errors.push(String(error)))
      }
      const { codes, leftovers } = await fleet.stopAll()
      if (dir !== '' && !process.env.LB_KEEP) rmSync(dir, { recursive: true, force: true })
      report(`${kind}: pass took ${seconds(passStart)}; instances stopped with ${JSON.stringify(codes)}; MCP server processes left: ${leftovers.length}`)
      expect(errors).toEqual([])
      expect(leftovers).toEqual([])
      // every instance but the one killed by the crash scenario ended with a clean exit
      for (const [id, code] of Object.entries(codes)) expect(code, id).toBe(id === 'i3' ? 'SIGKILL' : 0)
    }, 30_000)

    it('spread: 90 sessions x 5 calls land on all three instances, 0 x 404, 0 x 5xx', async () => {
      const tally = newTally()
      const start = performance.now()
      await runSessions(mcp(), tally, 'spread-', 90, 5, 15)
      report(`${kind} spread: 90 sessions x 5 calls in ${seconds(start)}; ${summary(tally)}`)
      expectClean(tally, lb!.output().slice(-3000))
      expect(tally.calls).toBe(450)
      const counts = ['i1', 'i2', 'i3'].map((id) => tally.born[id] ?? 0)
      expect(counts.reduce((a, b) => a + b)).toBe(90)
      expect(Math.min(...counts), bornLine(tally)).toBeGreaterThan(0)
      expect(Math.max(...counts) / Math.min(...counts), bornLine(tally)).toBeLessThanOrEqual(1.5)
    })

    it('legacy HTTP+SSE: 30 sessions x 5 calls, every POST /messages 202, every answer back', async () => {
      const tally = newTally()
      const start = performance.now()
      const sse = new URL('/sse', lb!.base)
      await inPool(
        Array.from({ length: 30 }, (_, i) => i),
        10,
        async (i) => {
          await within(legacySession(sse, tally, `legacy-${i}`, 5), 15_000, `legacy session ${i}`)
        },
      )
      const statuses = Object.entries(tally.messageStatuses)
        .map(([status, n]) => `${status} x${n}`)
        .join(', ')
      report(`${kind} legacy: 30 HTTP+SSE sessions x 5 calls in ${seconds(start)}; born ${bornLine(tally)}; POST /messages ${statuses}; answers ${tally.calls}/150; 404 ${tally.notFound.POST + tally.notFound.GET}; 5xx ${tally.serverErrors.length}`)
      expect(tally.failures).toEqual([])
      expect(tally.serverErrors).toEqual([])
      expect(tally.mismatches).toEqual([])
      expect(tally.calls).toBe(150)
      // initialize, notifications/initialized and 5 calls per session
      expect(tally.messageStatuses).toEqual({ 202: 30 * 7 })
      for (const id of ['i1', 'i2', 'i3']) expect(tally.born[id] ?? 0, bornLine(tally)).toBeGreaterThan(0)
    })

    if (kind === 'nginx') {
      it('negative control: `hash $http_mcp_session_id consistent` breaks most sessions', async () => {
        const start = performance.now()
        const hash = nginxBalancer(
          await startNginx(binary!, join(dir, 'hash'), { configText: (port) => renderHashConfig(instancesOf(fleet.live()), port) }),
        )
        extraBalancers.push(hash)
        const tally = newTally()
        const sessions = Array.from({ length: 30 }, (_, i) => session(new URL('/mcp', hash.base), tally, `hash-${i}`, false))
        await inPool(sessions, 10, async (s) => {
          if (await openOrRecord(s)) await s.call(`${s.name} call`)
        })
        const broken = sessions.filter((s) => s.calls === 0).length
        // Clean up on the owners directly: through the hash, a DELETE would go astray like the rest.
        await Promise.all(
          sessions.map(async (s) => {
            const id = s.sessionId
            const owner = s.instance === undefined ? undefined : fleet.all.get(s.instance)
            if (id !== undefined && owner !== undefined) {
              const response = await fetch(new URL('/mcp', owner.proxy.base), { method: 'DELETE', headers: { 'mcp-session-id': id } })
              await response.arrayBuffer()
            }
            await s.drop()
            openSessions.delete(s)
          }),
        )
        await hash.stop()
        extraBalancers.splice(extraBalancers.indexOf(hash), 1)
        report(`${kind} control (hash $http_mcp_session_id): ${broken}/30 sessions broken in ${seconds(start)}; born ${bornLine(tally)}; 404 POST ${tally.notFound.POST}; 5xx ${tally.serverErrors.length}`)
        // (N-1)/N = 2/3 expected; a third would already be far from the 0 of the tag map
        expect(broken).toBeGreaterThanOrEqual(10)
        expect(tally.notFound.POST).toBeGreaterThanOrEqual(10)
      })
    }

    it('crash: kill -9 of one instance mid-run costs each of its sessions one 404 and a re-initialize, 0 x 5xx', async () => {
      const victim = fleet.get('i3')
      const tally = newTally()
      const sessions = Array.from({ length: 60 }, (_, i) => session(mcp(), tally, `crash-${i}`))
      await inPool(sessions, 15, async (s) => {
        await openOrRecord(s)
      })
      const bornBefore = bornLine(tally)
      const openBefore = await sessionsOpen(fleet)
      const onVictim = sessions.filter((s) => s.instance === victim.id)
      const others = sessions.filter((s) => s.instance !== victim.id)
      const start = performance.now()
      let killedAt = 0
      let roundAfterKill = 0
      let down: { stop: () => Promise<number | undefined> } | undefined
      for (let round = 0; round < 10; round++) {
        if (round === 3) {
          victim.proxy.proc.kill('SIGKILL')
          expect(await within(victim.proxy.exited, 5000, 'the killed instance')).toBe('SIGKILL')
          killedAt = performance.now()
          down = watchDown(lb!, victim.id, killedAt, 8000)
        }
        const roundStart = performance.now()
        await Promise.all(sessions.map((s) => s.call(`${s.name} round ${round}`)))
        if (round === 3) roundAfterKill = performance.now() - roundStart
        await sleep(100)
      }
      await Promise.all(
        sessions.map(async (s) => {
          await s.end()
          openSessions.delete(s)
        }),
      )
      // HAProxy: how long until the dead instance is DOWN (a refused connection on live traffic marks it at once)
      const downAfter = await down?.stop()
      const victimNotFound = onVictim.map((s) => s.notFoundPosts)
      report(
        `${kind} crash: 60 sessions x 10 calls in ${seconds(start)}, kill -9 ${victim.id} after round 3; born before ${bornBefore} (open on the instances: ${openBefore}); ` +
          `sessions hit ${onVictim.length}, 404s on their calls ${victimNotFound.reduce((a, b) => a + b, 0)} (max ${Math.max(0, ...victimNotFound)} per session), ` +
          `re-initialized ${onVictim.filter((s) => s.reinitializations === 1).length}; other sessions' 404s ${others.reduce((a, s) => a + s.notFoundPosts, 0)}; ` +
          `GET-stream 404s (background reconnects) ${tally.notFound.GET}; 5xx ${tally.serverErrors.length}; calls ${tally.calls}/600; failures ${tally.failures.length}; ` +
          `round after the kill (404 + initialize + retry) ${Math.round(roundAfterKill)} ms; kill → end ${seconds(killedAt)}` +
          (lb!.serverState ? `; HAProxy marked ${victim.id} DOWN ${downAfter === undefined ? 'not within the scenario' : `${Math.round(downAfter)} ms after the kill`}` : ''),
      )
      expect(tally.failures).toEqual([])
      expect(tally.serverErrors).toEqual([])
      expect(tally.mismatches).toEqual([])
      expect(tally.calls).toBe(600)
      expect(onVictim.length).toBeGreaterThan(0)
      for (const s of onVictim) {
        expect({ name: s.name, notFound: s.notFoundPosts, reinitializations: s.reinitializations }).toEqual({ name: s.name, notFound: 1, reinitializations: 1 })
        expect(s.births.length).toBe(2)
        expect(s.births[1]).not.toBe(victim.id)
      }
      for (const s of others) expect({ name: s.name, notFound: s.notFoundPosts, births: s.births.length }).toEqual({ name: s.name, notFound: 0, births: 1 })
    })

    it('drain: SIGTERM to one instance mid-run; no new session on it, its sessions finish, then it exits 0', async () => {
      const victim = fleet.get('i2')
      const old = newTally()
      const sessions = Array.from({ length: 30 }, (_, i) => session(mcp(), old, `drain-old-${i}`))
      await inPool(sessions, 10, async (s) => {
        await openOrRecord(s)
      })
      const onVictim = sessions.filter((s) => s.instance === victim.id)
      let start = 0
      let lastRoundAt = 0
      const rounds = async (from: number, to: number, pauseMs: number): Promise<void> => {
        for (let round = from; round < to; round++) {
          lastRoundAt = performance.now() - start
          await Promise.all(sessions.map((s) => s.call(`${s.name} round ${round}`)))
          await sleep(pauseMs)
        }
      }
      await rounds(0, 2, 100)

      start = performance.now()
      victim.proxy.proc.kill('SIGTERM')
      // The instance itself: not ready, and a new session is refused with 503 + Retry-After.
      let ready: { status: number; body: { status?: string } } = { status: 0, body: {} }
      await waitFor(async () => {
        const response = await fetch(new URL('/ready', victim.proxy.base))
        ready = { status: response.status, body: (await response.json()) as { status?: string } }
        return response.status === 503
      }, 3000)
      const refused = await fetch(new URL('/mcp', victim.proxy.base), {
        method: 'POST',
        headers: MCP_HEADERS,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'drain-probe', version: '1' } } }),
      })
      await refused.arrayBuffer()

      // Through the balancer: the old sessions go on while new ones arrive. The old ones keep calling for 6 s,
      // past the moment HAProxy's check (every 2 s, 2 failures) marks the draining instance DOWN: its sessions
      // must still reach it then (`option persist`).
      const down = watchDown(lb!, victim.id, start, 8000)
      const fresh = newTally()
      await Promise.all([rounds(2, 8, 1000), runSessions(mcp(), fresh, 'drain-new-', 15, 3, 5)])
      const markedDown = await down.stop()
      const aliveWhileOpen = victim.proxy.proc.exitCode === null && victim.proxy.proc.signalCode === null
      const endStart = performance.now()
      await Promise.all(
        sessions.map(async (s) => {
          await s.end()
          openSessions.delete(s)
        }),
      )
      const code = await within(victim.proxy.exited, DRAIN_MS + 5000, 'the drained instance to exit')
      const victimCalls = onVictim.reduce((a, s) => a + s.calls, 0)
      const hit = sessions.filter((s) => s.notFoundPosts > 0).map((s) => `${s.name} ${s.births.join('>')}`)
      if (hit.length > 0) report(`${kind} drain: sessions that saw a 404: ${hit.join(', ')}`)
      report(
        `${kind} drain: SIGTERM ${victim.id} with ${onVictim.length} of 30 sessions open; its /ready ${ready.status} ${String(ready.body.status)}; direct initialize ${refused.status} Retry-After ${String(refused.headers.get('retry-after'))}; ` +
          (lb!.serverState ? `HAProxy marked it DOWN ${markedDown === undefined ? 'never' : `${(markedDown / 1000).toFixed(1)} s after SIGTERM`}; ` : '') +
          `new sessions during the drain born ${bornLine(fresh)}; calls of its sessions ${victimCalls}/${onVictim.length * 8}; old sessions ${summary(old)}; new sessions 5xx ${fresh.serverErrors.length}, failures ${fresh.failures.length}; ` +
          `alive while its sessions were open: ${aliveWhileOpen}; exit code ${String(code)} ${seconds(endStart)} after their DELETEs (${seconds(start)} after SIGTERM)`,
      )
      expect(ready).toMatchObject({ status: 503, body: { status: 'draining' } })
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).not.toBeNull()
      expect(onVictim.length).toBeGreaterThan(0)
      expectClean(old, lb!.output().slice(-3000))
      expectClean(fresh, lb!.output().slice(-3000))
      expect(old.calls).toBe(30 * 8)
      expect(victimCalls).toBe(onVictim.length * 8)
      // with HAProxy, the calls after the check marked it DOWN reached it too
      if (lb!.serverState) expect(markedDown ?? Infinity).toBeLessThan(lastRoundAt)
      expect(fresh.calls).toBe(45)
      expect(fresh.born[victim.id] ?? 0, bornLine(fresh)).toBe(0)
      expect(aliveWhileOpen).toBe(true)
      expect(code).toBe(0)
    })

    it('scale-up: a 4th instance added at run time receives new sessions', async () => {
      const start = performance.now()
      const i4 = await fleet.start('i4')
      const how = await lb!.add(i4, fleet.live())
      const tally = newTally()
      const sessions = await runSessions(mcp(), tally, 'scale-', 30, 5, 10)
      const hit = sessions.filter((s) => s.notFoundPosts > 0)
      report(
        `${kind} scale-up: i4 added (${how}) in ${seconds(start)}; then 30 sessions x 5 calls: ${summary(tally)}` +
          (hit.length > 0 ? `; sessions that saw a 404: ${hit.map((s) => `${s.name} ${s.births.join('>')}`).join(', ')}` : ''),
      )
      expect(tally.failures).toEqual([])
      expect(tally.serverErrors).toEqual([])
      expect(tally.mismatches).toEqual([])
      expect(tally.calls).toBe(150)
      expect(tally.born.i4 ?? 0, bornLine(tally)).toBeGreaterThan(0)
      for (const id of ['i2', 'i3']) expect(tally.born[id] ?? 0, `${id} is gone`).toBe(0)
      // HAProxy's runtime API changes the running process; nginx's reload is complete once the old workers
      // (which route the connections they still hold by the old map) have exited: nothing is disturbed.
      expect(tally.notFound).toEqual({ POST: 0, GET: 0, DELETE: 0 })
    })
  })
}

describe('shipped load-balancer configurations', () => {
  it('deploy/compose.yaml: three instances i1..i3 with /ready health checks, a grace period above the drain, and HAProxy on the shipped cfg', () => {
    const compose = parse(readFileSync(join(ROOT, 'deploy/compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[]; healthcheck?: { test: string[] }; stop_grace_period?: string; init?: boolean; profiles?: string[]; volumes?: string[]; image?: string; build?: unknown }>
    }
    const flag = (command: string[], name: string): string | undefined => {
      const at = command.indexOf(name)
      return at >= 0 && at < command.indexOf('--') ? command[at + 1] : undefined
    }
    const duration = (text: string | undefined): number => {
      const match = /^(\d+)(ms|s|m)$/.exec(text ?? '')
      if (!match) throw new Error(`not a compose duration: ${text}`)
      return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm']
    }
    const instances = Object.entries(compose.services).filter(([, s]) => s.command?.includes('--instance-id'))
    const always = instances.filter(([, s]) => s.profiles === undefined)
    expect(always.map(([, s]) => flag(s.command!, '--instance-id'))).toEqual(['i1', 'i2', 'i3'])
    const cfg = readFileSync(HAPROXY_CFG, 'utf8')
    for (const [name, s] of instances) {
      const id = flag(s.command!, '--instance-id')!
      expect(s.build, name).toBeDefined()
      expect(s.init, name).toBe(true)
      expect(flag(s.command!, '--host'), name).toBe('0.0.0.0')
      expect(s.healthcheck?.test.join(' '), name).toContain('/ready')
      // --drain-timeout (default 30000) + the shutdown after it (stop-grace 2 s x 3 + 3 s) must fit in the grace period
      const drain = Number(flag(s.command!, '--drain-timeout') ?? 30_000)
      expect(duration(s.stop_grace_period), name).toBeGreaterThan(drain + 9000)
      // HAProxy's default address of this instance is this service
      if (s.profiles === undefined) {
        const preset = new RegExp(`^\\s*presetenv\\s+MCP_LB_SERVER_${id.toUpperCase()}\\s+"([^"]+)"`, 'm').exec(cfg)
        expect(preset?.[1], name).toBe(`${name}:${flag(s.command!, '--port')}`)
      }
    }
    const haproxy = compose.services.haproxy!
    expect(haproxy.image).toMatch(/^haproxy:/)
    expect(haproxy.volumes).toContain('./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro')
  })

  it.skipIf(HAPROXY === undefined)(`haproxy -c accepts deploy/haproxy/haproxy.cfg as shipped (host names that do not resolve)${HAPROXY ? '' : ': SKIPPED, haproxy is not installed'}`, async () => {
    const { execFile } = await import('node:child_process')
    const { promisify } = await import('node:util')
    const { stdout, stderr } = await promisify(execFile)(HAPROXY!, ['-c', '-f', HAPROXY_CFG])
    expect(stdout + stderr).toContain('Configuration file is valid')
  })

  it.skipIf(NGINX === undefined)(`nginx -t accepts deploy/nginx/nginx.conf with the example upstreams.conf, which the test renders alike${NGINX ? '' : ': SKIPPED, nginx is not installed'}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-lb-nginx-t-'))
    try {
      const { copyFileSync, mkdirSync, writeFileSync } = await import('node:fs')
      mkdirSync(join(dir, 'conf'))
      copyFileSync(join(NGINX_DIR, 'nginx.conf'), join(dir, 'conf/nginx.conf'))
      // server.conf as shipped, but logging into the temp directory
      writeFileSync(join(dir, 'conf/server.conf'), readFileSync(join(NGINX_DIR, 'server.conf'), 'utf8').replace('/var/log/nginx/', `${dir}/`))
      const example = readFileSync(join(NGINX_DIR, 'upstreams.conf'), 'utf8')
      // nginx resolves upstream host names when it starts: the compose names exist only inside compose
      writeFileSync(join(dir, 'conf/upstreams.conf'), example.replace(/proxy-i(\d):3000/g, '127.0.0.$1:3000'))
      expect(await nginxCheck(NGINX!, join(dir, 'conf/nginx.conf'), dir)).toContain('test is successful')
      // The test's rendering (lb/nginx.ts) is the shipped example, comments and blank lines aside.
      const significant = (text: string): string[] =>
        text
          .split('\n')
          .map((l) => l.replace(/#.*/, '').trim().replace(/\s+/g, ' '))
          .filter((l) => l !== '')
      expect(significant(renderUpstreams({ i1: 'proxy-i1:3000', i2: 'proxy-i2:3000', i3: 'proxy-i3:3000' }))).toEqual(significant(example))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

lbPass('haproxy', HAPROXY)
lbPass('nginx', NGINX)
