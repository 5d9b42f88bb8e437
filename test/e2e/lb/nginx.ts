// nginx for the load-balancer test, in a prefix of its own (a temp directory), never on port 80 and never with
// Debian's default site. The shipped deploy/nginx/nginx.conf is copied byte for byte into <prefix>/conf; only the
// two deployment files it includes are written here: upstreams.conf (the instances, rendered in the shape of the
// shipped example) and server.conf (a free loopback port, the access log in the prefix). A reload re-renders upstreams.conf.
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT, waitFor } from '../helpers.js'
import { childrenOf, freePort, isAlive, killLeftovers, startDaemon, type Daemon } from './daemons.js'

const run = promisify(execFile)

export const NGINX_DIR = join(ROOT, 'deploy/nginx')

/** Instance tag → host:port. */
export type Instances = Record<string, string>

/**
 * upstreams.conf for `instances`, in the shape of deploy/nginx/upstreams.conf: the pool (least_conn), one
 * upstream per tag with the owner first (max_fails=0) and every other instance as a backup, and the tag map.
 */
export function renderUpstreams(instances: Instances): string {
  const tags = Object.keys(instances)
  const lines = ['upstream mcp_pool {', '    zone mcp_pool 64k;', '    least_conn;']
  for (const tag of tags) lines.push(`    server ${instances[tag]} max_fails=1 fail_timeout=10s;`)
  lines.push('    keepalive 32;', '}')
  for (const tag of tags) {
    lines.push(`upstream mcp_${tag} {`, `    zone mcp_${tag} 64k;`, `    server ${instances[tag]} max_fails=0;`)
    for (const other of tags) if (other !== tag) lines.push(`    server ${instances[other]} backup;`)
    lines.push('    keepalive 8;', '}')
  }
  lines.push('map $mcp_tag $mcp_route {', '    default  mcp_pool;')
  for (const tag of tags) lines.push(`    ${tag}  mcp_${tag};`)
  lines.push('}', '')
  return lines.join('\n')
}

/** The negative control: the broken recipe, `hash $http_mcp_session_id consistent` over the instances. */
export function renderHashConfig(instances: Instances, port: number): string {
  return [
    'worker_processes 1;',
    'events { worker_connections 1024; }',
    'http {',
    '    access_log off;',
    '    upstream mcp_hash {',
    '        hash $http_mcp_session_id consistent;',
    ...Object.values(instances).map((address) => `        server ${address};`),
    '    }',
    '    server {',
    `        listen 127.0.0.1:${port};`,
    '        location / {',
    '            proxy_pass http://mcp_hash;',
    '            proxy_buffering off;',
    '            proxy_http_version 1.1;',
    '            proxy_set_header Connection "";',
    '            proxy_set_header Host $host;',
    '            proxy_read_timeout 1h;',
    '        }',
    '    }',
    '}',
    '',
  ].join('\n')
}

export interface Nginx {
  daemon: Daemon
  /** http://127.0.0.1:PORT */
  base: string
  conf: string
  /** Re-render upstreams.conf for `instances` and `nginx -s reload`. */
  reload: (instances: Instances) => Promise<void>
  /** Stop the master (fast shutdown), then SIGKILL any worker left; resolves with the workers that were left. */
  stop: () => Promise<number[]>
}

function globals(prefix: string): string {
  return `daemon off; pid ${join(prefix, 'nginx.pid')}; error_log ${join(prefix, 'logs/error.log')} notice;`
}

/** `nginx -t` on a configuration (throws with nginx's output when it fails). */
export async function nginxCheck(binary: string, conf: string, prefix: string): Promise<string> {
  const { stderr } = await run(binary, ['-t', '-c', conf, '-p', prefix, '-g', `pid ${join(prefix, 'nginx.pid')};`])
  return stderr
}

/** Start nginx with `configText` (the negative control) or the shipped configuration and `instances`. */
export async function startNginx(
  binary: string,
  prefix: string,
  setup: { instances: Instances } | { configText: (port: number) => string },
): Promise<Nginx> {
  const port = await freePort()
  const confDir = join(prefix, 'conf')
  mkdirSync(confDir, { recursive: true })
  mkdirSync(join(prefix, 'logs'), { recursive: true })
  const conf = join(confDir, 'nginx.conf')
  if ('instances' in setup) {
    copyFileSync(join(NGINX_DIR, 'nginx.conf'), conf)
    writeFileSync(join(confDir, 'upstreams.conf'), renderUpstreams(setup.instances))
    writeFileSync(join(confDir, 'server.conf'), `listen 127.0.0.1:${port};\naccess_log ${join(prefix, 'logs/access.log')} mcp;\n`)
  } else {
    writeFileSync(conf, setup.configText(port))
  }
  await nginxCheck(binary, conf, prefix)
  const daemon = startDaemon(binary, ['-c', conf, '-p', prefix, '-g', globals(prefix)])
  const base = `http://127.0.0.1:${port}`
  let workers: number[] = []
  const stop = async (): Promise<number[]> => {
    workers = [...new Set([...workers, ...childrenOf(daemon.pid)])]
    await daemon.stop('SIGTERM', 5000)
    return killLeftovers(workers)
  }
  try {
    await waitFor(
      async () => daemon.gone() || (await fetch(`${base}/ping`).then((r) => r.status > 0, () => false)),
      10_000,
      () => `nginx to listen; output:\n${daemon.output()}`,
    )
    if (daemon.gone()) throw new Error(`nginx exited (${String(await daemon.exited)}):\n${daemon.output()}`)
  } catch (error) {
    await stop()
    throw error
  }
  workers = childrenOf(daemon.pid)
  const reload = async (instances: Instances): Promise<void> => {
    workers = [...new Set([...workers, ...childrenOf(daemon.pid)])]
    writeFileSync(join(confDir, 'upstreams.conf'), renderUpstreams(instances))
    await nginxCheck(binary, conf, prefix)
    const old = childrenOf(daemon.pid)
    await run(binary, ['-s', 'reload', '-c', conf, '-p', prefix, '-g', `pid ${join(prefix, 'nginx.pid')};`])
    // The old workers keep serving the connections they hold with the old configuration until those close
    // (idle keep-alive connections at once, open streams when they end): the reload is complete once they
    // have exited. Until then a request on one of them would be routed by the old map.
    await waitFor(() => old.every((pid) => !isAlive(pid)), 15_000, () => `the old nginx workers (${old.filter(isAlive).join(', ')}) to exit after the reload`)
  }
  return { daemon, base, conf, reload, stop }
}
