import http from 'node:http'
import type { IncomingMessage } from 'node:http'
import { createParser } from 'eventsource-parser'
import type { ParsedEvent } from '../../lib/testing.js'
import { until } from './build.js'

export interface SseClient {
  readonly response: IncomingMessage
  readonly events: ParsedEvent[]
  readonly ended: boolean
  /** Waits until `count` events have arrived in all. */
  waitFor (count: number, timeout?: number): Promise<ParsedEvent[]>
  /** Resolves when the server ends the response. */
  end (): Promise<void>
  destroy (): void
}

/** A plain HTTP client for an SSE URL over a real socket, parsed with eventsource-parser. */
export async function openSse (url: string, options: { headers?: Record<string, string>, agent?: http.Agent | false } = {}): Promise<SseClient> {
  const request = http.get(url, { headers: { accept: 'text/event-stream', ...options.headers }, agent: options.agent ?? false })
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve)
    request.once('error', reject)
  })
  request.on('error', () => {}) // a destroyed socket is the point of some tests
  const events: ParsedEvent[] = []
  let ended = false
  const parser = createParser({
    onEvent: ({ id, event, data }) => {
      const parsed: ParsedEvent = { data }
      if (id !== undefined) parsed.id = id
      if (event !== undefined) parsed.event = event
      events.push(parsed)
    }
  })
  response.setEncoding('utf8')
  response.on('data', (chunk: string) => { parser.feed(chunk) })
  const finished = new Promise<void>((resolve) => {
    response.once('end', () => { ended = true; resolve() })
    response.once('close', () => { ended = true; resolve() })
  })
  return {
    response,
    events,
    get ended () { return ended },
    async waitFor (count, timeout = 5_000) {
      await until(() => events.length >= count, `${count} events from ${url} (have ${events.length})`, timeout)
      return events.slice(0, count)
    },
    end: () => finished,
    destroy: () => { request.destroy() }
  }
}
