// The floor of a per-session stdio proxy: a bare node:http server that spawns one child per session and
// relays each POST to it, with nothing else (no validation, limits, timeouts, event ids, guards, logs).
// No proxy that runs a child process can cost less on the same machine: what it adds over `childless`
// is the child's round trip (two more process wake-ups per call), which no proxy code can remove.
//   node bench/floor-proxy.mjs --port P -- <command> [args...]
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'

const dash = process.argv.indexOf('--')
const port = Number(process.argv[process.argv.indexOf('--port') + 1])
const [command, ...args] = process.argv.slice(dash + 1)
const sessions = new Map()

function startChild() {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] })
  const waiting = new Map()
  let buffered = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk) => {
    buffered += chunk
    for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
      const line = buffered.slice(0, end)
      buffered = buffered.slice(end + 1)
      const answer = waiting.get(JSON.parse(line).id)
      if (answer) answer(line)
    }
  })
  return { child, waiting }
}

createServer((req, res) => {
  if (req.url === '/ping') return res.end('ok')
  const id = req.headers['mcp-session-id']
  if (req.method === 'DELETE') {
    sessions.get(id)?.child.kill()
    sessions.delete(id)
    return res.end()
  }
  if (req.method !== 'POST') return res.writeHead(405).end()
  let body = ''
  req.setEncoding('utf8')
  req.on('data', (chunk) => (body += chunk))
  req.on('end', () => {
    const message = JSON.parse(body)
    let session = sessions.get(id)
    let sessionId = id
    if (!session) {
      sessionId = randomUUID()
      session = startChild()
      sessions.set(sessionId, session)
    }
    if (message.id === undefined) {
      res.writeHead(202, { 'mcp-session-id': sessionId }).end()
    } else {
      session.waiting.set(message.id, (line) => {
        session.waiting.delete(message.id)
        res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': sessionId }).end(`event: message\ndata: ${line}\n\n`)
      })
    }
    session.child.stdin.write(body + '\n')
  })
}).listen(port, '127.0.0.1')

process.on('SIGTERM', () => {
  for (const { child } of sessions.values()) child.kill()
  process.exit(0)
})
