// fastify-sse-hub/testing: read the events of an SSE route under `app.inject`, including
// streams that never end (take N events, then close: the server side runs the source's
// `finally`). Parsing is done by eventsource-parser, independent of our encoder.
import type { OutgoingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { createParser } from 'eventsource-parser'
import type { FastifyInstance, InjectOptions } from 'fastify'

export { runReplayStoreContract } from './replay/contract.js'
export type { ContractTest, ReplayStoreFixture, ReplayStoreFactory } from './replay/contract.js'
export { runBackplaneContract } from './backplane/contract.js'
export type { BackplaneFixture, BackplaneFactory, BackplaneInstance } from './backplane/contract.js'

/** One event as a client sees it. `id` and `event` are absent when the frame had none. */
export interface ParsedEvent {
  id?: string
  event?: string
  data: string
}

export interface EventStream {
  readonly statusCode: number
  readonly headers: OutgoingHttpHeaders
  /** Comment lines received so far (heartbeats are ''). */
  readonly comments: string[]
  /** The last `retry:` value received (set once data after it has been read). */
  readonly retry: number | undefined
  /** The next `count` events (waiting for them); rejects after `timeout` ms (default 5000) or when the stream ends first. */
  take (count: number, options?: { timeout?: number }): Promise<ParsedEvent[]>
  /** Resolves with the remaining events once the server ends the stream. */
  rest (options?: { timeout?: number }): Promise<ParsedEvent[]>
  /** Disconnects like a client that goes away; resolves once the server side has closed the stream. */
  close (): Promise<void>
}

/** Parses a complete `text/event-stream` body. */
export function parseEventStream (body: string): ParsedEvent[] {
  const events: ParsedEvent[] = []
  const parser = createParser({ onEvent: (event) => { events.push(toParsed(event)) } })
  parser.feed(body)
  return events
}

function toParsed (event: { id?: string | undefined, event?: string | undefined, data: string }): ParsedEvent {
  const parsed: ParsedEvent = { data: event.data }
  if (event.id !== undefined) parsed.id = event.id
  if (event.event !== undefined) parsed.event = event.event
  return parsed
}

/**
 * Opens an SSE route with `app.inject` and reads it as a stream.
 * `const s = await injectEventStream(app, '/clock'); const [first] = await s.take(1); await s.close()`
 */
export async function injectEventStream (app: FastifyInstance, options: string | InjectOptions): Promise<EventStream> {
  const request: InjectOptions = typeof options === 'string' ? { url: options } : { ...options }
  request.headers = { accept: 'text/event-stream', ...request.headers }
  const response = await app.inject({ ...request, payloadAsStream: true })
  const stream = response.stream() as Readable
  const serverClosed = new Promise<void>((resolve) => {
    response.raw.res.once('close', () => { setImmediate(resolve) })
  })
  const buffered: ParsedEvent[] = []
  const comments: string[] = []
  let retry: number | undefined
  let ended = false
  let failure: Error | undefined
  /** Callers of waitFor() parked until something happens (take() may be called concurrently); each then checks again. */
  const waiting = new Set<() => void>()
  const notify = (): void => {
    const woken = [...waiting]
    waiting.clear()
    for (const wake of woken) wake()
  }

  const parser = createParser({
    onEvent: (event) => { buffered.push(toParsed(event)); notify() },
    onComment: (comment) => { comments.push(comment.trim()) },
    onRetry: (ms) => { retry = ms }
  })
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => { parser.feed(chunk) })
  const onEnd = (): void => { ended = true; notify() }
  stream.once('end', onEnd)
  stream.once('close', onEnd)
  stream.once('error', (err) => { failure ??= err; onEnd() })

  /**
   * Resolves with `result()` as soon as `ready()` (in the same turn, so concurrent calls each get
   * their own events); rejects when the stream fails or ends first, or after `timeout` ms.
   */
  async function waitFor<T> (ready: () => boolean, result: () => T, timeout: number, what: string): Promise<T> {
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; notify() }, timeout)
    try {
      while (!ready()) {
        if (failure !== undefined) throw failure
        if (ended) throw new Error(`injectEventStream: the stream ended before ${what} (have ${buffered.length})`)
        if (timedOut) throw new Error(`injectEventStream: timed out after ${timeout} ms waiting for ${what} (have ${buffered.length})`)
        await new Promise<void>((resolve) => { waiting.add(resolve) })
      }
      return result()
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    statusCode: response.statusCode,
    headers: response.headers,
    comments,
    get retry () { return retry },
    async take (count, { timeout = 5_000 } = {}) {
      return await waitFor(() => buffered.length >= count, () => buffered.splice(0, count), timeout, `${count} events`)
    },
    async rest ({ timeout = 5_000 } = {}) {
      const events = await waitFor(() => ended, () => buffered.splice(0), timeout, 'the end of the stream')
      if (failure !== undefined && !/aborted|destroyed/i.test(failure.message)) throw failure
      return events
    },
    async close () {
      // What a departing client looks like to the server: the response closes before it
      // finished. (Aborting the inject request instead makes Fastify log it as an error.)
      response.raw.res.destroy()
      await serverClosed
    }
  }
}
