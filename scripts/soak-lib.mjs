// Shared helpers of scripts/soak.mjs and scripts/hostile-soak.mjs: a seeded PRNG, /proc readers, a free
// port, and a small keep-alive HTTP client whose every request is bounded in time. Node built-ins only.
import http from 'node:http'
import net from 'node:net'
import { readFileSync } from 'node:fs'

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** A small seeded PRNG (mulberry32), so a run can be repeated with --seed. */
export function createRandom(seed) {
  let state = seed >>> 0
  function random() {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const pick = (items) => items[Math.floor(random() * items.length)]
  return { random, pick }
}

// ------------------------------------------------------------------------------------------------------
// /proc.

export function readProc(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8')
  } catch {
    return undefined
  }
}

/** state, ppid, process group and start time (clock ticks since boot) of a process, or undefined. */
export function procStat(pid) {
  const stat = readProc(pid, 'stat')
  if (!stat) return undefined
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { state: fields[0], ppid: Number(fields[1]), pgrp: Number(fields[2]), starttime: Number(fields[19]) }
}

export function alive(pid) {
  const stat = procStat(pid)
  return stat !== undefined && stat.state !== 'Z'
}

/** RSS in KiB (VmRSS), or undefined. */
export function rssKiB(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readProc(pid, 'status') ?? '')
  return match ? Number(match[1]) : undefined
}

// ------------------------------------------------------------------------------------------------------
// Network.

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/**
 * An HTTP client on `agent` against `baseUrl()`: request(method, path, { headers, body, abortAfterMs,
 * timeoutMs = 30000 }) resolves { status, headers, body } with the whole body read, or rejects. Every
 * request is bounded: past timeoutMs it is destroyed with "no answer within N s"; abortAfterMs destroys it
 * earlier with "aborted by the soak client".
 */
export function createHttpClient({ agent, baseUrl }) {
  return function httpRequest(method, path, { headers = {}, body, abortAfterMs, timeoutMs = 30_000 } = {}) {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))
      const request = http.request(`${baseUrl()}${path}`, {
        method,
        agent,
        headers: payload ? { ...headers, 'content-length': payload.length } : headers,
      })
      let timer
      if (abortAfterMs !== undefined) {
        timer = setTimeout(() => {
          request.destroy(new Error('aborted by the soak client'))
        }, abortAfterMs)
      }
      const guard = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs)
      request.once('error', (error) => {
        clearTimeout(timer)
        clearTimeout(guard)
        reject(error)
      })
      request.once('response', (response) => {
        const chunks = []
        response.on('data', (chunk) => chunks.push(chunk))
        response.once('error', () => {})
        response.once('end', () => {
          clearTimeout(timer)
          clearTimeout(guard)
          resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') })
        })
      })
      request.end(payload)
    })
  }
}

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }

/** JSON-RPC messages of an answer: one JSON body, or the data of each SSE event. */
export function messagesOf(answer) {
  const type = String(answer.headers['content-type'] ?? '')
  if (type.startsWith('text/event-stream')) {
    const messages = []
    for (const block of answer.body.split('\n\n')) {
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n')
      if (data !== '') messages.push(JSON.parse(data))
    }
    return messages
  }
  if (answer.body === '') return []
  const value = JSON.parse(answer.body)
  return Array.isArray(value) ? value : [value]
}
