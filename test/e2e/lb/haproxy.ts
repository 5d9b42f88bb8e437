// HAProxy for the load-balancer test: the shipped deploy/haproxy/haproxy.cfg, unchanged, run in the foreground
// (`-db`) with only its environment variables set (frontend address, admin socket, the three instances), and
// its runtime API (the admin socket) for `add server` and the servers' states.
import { connect } from 'node:net'
import { join } from 'node:path'
import { ROOT, waitFor } from '../helpers.js'
import { freePort, startDaemon, type Daemon } from './daemons.js'

export const HAPROXY_CFG = join(ROOT, 'deploy/haproxy/haproxy.cfg')

export interface Haproxy {
  daemon: Daemon
  /** http://127.0.0.1:PORT */
  base: string
  socket: string
  /** One runtime API command; resolves with its answer. */
  admin: (command: string) => Promise<string>
  /** Server name → status (UP, DOWN, MAINT, NOLB, DRAIN …) of backend `mcp`, from `show stat`. */
  states: () => Promise<Record<string, string>>
}

/** Send one command to HAProxy's runtime API (non-interactive: it answers and closes). */
export function runtimeApi(socket: string, command: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = ''
    const conn = connect(socket)
    const timer = setTimeout(() => {
      conn.destroy()
      reject(new Error(`runtime API: no answer to "${command}" within ${timeoutMs} ms`))
    }, timeoutMs)
    conn.setEncoding('utf8')
    conn.on('connect', () => conn.write(`${command}\n`))
    conn.on('data', (d: string) => (answer += d))
    conn.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    conn.on('close', () => {
      clearTimeout(timer)
      resolve(answer)
    })
  })
}

/**
 * Start HAProxy with the shipped configuration in front of `servers` (MCP_LB_SERVER_I1..I3 = host:port) and
 * wait until every one of them is UP (the /ready checks pass).
 */
export async function startHaproxy(binary: string, dir: string, servers: { I1: string; I2: string; I3: string }): Promise<Haproxy> {
  const port = await freePort()
  const socket = join(dir, 'haproxy-admin.sock')
  const daemon = startDaemon(binary, ['-db', '-f', HAPROXY_CFG], {
    MCP_LB_BIND: `127.0.0.1:${port}`,
    MCP_LB_ADMIN_SOCKET: socket,
    MCP_LB_SERVER_I1: servers.I1,
    MCP_LB_SERVER_I2: servers.I2,
    MCP_LB_SERVER_I3: servers.I3,
  })
  const admin = (command: string): Promise<string> => runtimeApi(socket, command)
  const states = async (): Promise<Record<string, string>> => {
    const csv = await admin('show stat')
    const lines = csv.split('\n')
    const header = (lines[0] ?? '').replace(/^# /, '').split(',')
    const [px, sv, status] = ['pxname', 'svname', 'status'].map((name) => header.indexOf(name)) as [number, number, number]
    const out: Record<string, string> = {}
    for (const line of lines.slice(1)) {
      const fields = line.split(',')
      if (fields[px] === 'mcp' && fields[sv] !== 'BACKEND' && fields[sv] !== undefined) out[fields[sv]!] = fields[status] ?? ''
    }
    return out
  }
  try {
    let seen: Record<string, string> = {}
    await waitFor(
      async () => {
        if (daemon.gone()) return true
        seen = await states().catch(() => ({}))
        return ['i1', 'i2', 'i3'].every((name) => seen[name]?.startsWith('UP'))
      },
      15_000,
      () => `HAProxy's servers UP; got ${JSON.stringify(seen)}; output:\n${daemon.output()}`,
    )
    if (daemon.gone()) throw new Error(`haproxy exited (${String(await daemon.exited)}):\n${daemon.output()}`)
  } catch (error) {
    await daemon.stop()
    throw error
  }
  return { daemon, base: `http://127.0.0.1:${port}`, socket, admin, states }
}
