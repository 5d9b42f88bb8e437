// A minimal incremental text/event-stream parser (the subset MCP servers use:
// `event:`, `data:`, comments, LF or CRLF line ends). Events without data
// (e.g. the SDK's priming event) are still reported; callers skip them.

export class SseParser {
  /** @param {(event: { event: string, data: string }) => void} onEvent */
  constructor(onEvent) {
    this.onEvent = onEvent
    this.partial = '' // an unterminated line carried over to the next chunk
    this.event = ''
    this.data = []
  }

  /** Feed decoded text; complete events are dispatched synchronously. */
  push(text) {
    let start = 0
    let nl
    while ((nl = text.indexOf('\n', start)) !== -1) {
      let line = text.slice(start, nl)
      start = nl + 1
      if (this.partial) {
        line = this.partial + line
        this.partial = ''
      }
      this.#line(line.endsWith('\r') ? line.slice(0, -1) : line)
    }
    this.partial += text.slice(start)
  }

  #line(line) {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ event: this.event || 'message', data: this.data.join('\n') })
      this.event = ''
      this.data = []
      return
    }
    if (line.startsWith(':')) return // comment / keep-alive
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.event = value
    else if (field === 'data') this.data.push(value)
  }
}

/** All JSON-RPC messages in a complete event-stream body. */
export function sseMessages(body) {
  const messages = []
  const parser = new SseParser(({ event, data }) => {
    if (event === 'message' && data) messages.push(JSON.parse(data))
  })
  parser.push(body)
  parser.push('\n\n') // flush a final event that lacks its blank line
  return messages
}
