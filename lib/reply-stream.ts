import type { OutgoingHttpHeaders } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ConnectionRegistry, SseConnection } from './connection.js'
import { describe, errorCodes } from './errors.js'
import type { Heartbeats } from './heartbeat.js'
import { checkStreamOptions } from './options.js'
import type { ResolvedOptions, SseReplyOptions } from './options.js'
import { pump } from './pump.js'
import { kAttach } from './subscription.js'
import type { Subscription } from './subscription.js'

const { FST_SSE_INVALID_SOURCE, FST_SSE_ALREADY_SENT } = errorCodes

/** What a source function receives. */
export interface SseContext {
  /** Aborted when the stream closes: the client left, the server is closing, or the stream failed. */
  signal: AbortSignal
  /** The client's Last-Event-ID (header, else `lastEventId` query parameter), if valid. */
  lastEventId: string | undefined
  request: FastifyRequest
}

export type SseIterable<T> = AsyncIterable<T> | Iterable<T>

/** An (async) iterable of messages, or a function returning one. */
export type SseSource<T> = SseIterable<T> | ((context: SseContext) => SseIterable<T>)

export interface StreamState {
  options: ResolvedOptions
  registry: ConnectionRegistry
  heartbeats: Heartbeats
}

function isIterable (value: unknown): value is SseIterable<unknown> {
  return value !== null && typeof value === 'object' &&
    (typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' ||
      typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function')
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no'
}

/**
 * The response head: what the handler and hooks set on the reply (status, `@fastify/cors`'
 * headers, ...), with our content type, and our cache-control and x-accel-buffering unless
 * the app chose its own. Never a content-length.
 */
function responseHeaders (reply: FastifyReply): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ...SSE_HEADERS, ...reply.getHeaders() as OutgoingHttpHeaders }
  headers['content-type'] = SSE_HEADERS['content-type']
  delete headers['content-length']
  // HTTP/1.1 only (HTTP/2 forbids the header), and never against a client's `Connection: close`:
  // Node has already weighed both in shouldKeepAlive, and an explicit header would override it.
  if ((reply.raw as { shouldKeepAlive?: boolean }).shouldKeepAlive === true) headers.connection = 'keep-alive'
  return headers
}

/** Builds `reply.sse` for one app. */
export function createReplySse (state: StreamState) {
  return function sse (this: FastifyReply, source: SseSource<unknown>, options?: SseReplyOptions): FastifyReply {
    let settings = state.options
    if (options !== undefined) {
      checkStreamOptions(options, 'reply.sse options.')
      settings = {
        ...settings,
        heartbeatInterval: options.heartbeatInterval ?? settings.heartbeatInterval,
        retry: options.retry ?? settings.retry,
        serialize: options.serialize ?? settings.serialize
      }
    }
    const attachable = source !== null && typeof source === 'object' && kAttach in source
    if (typeof source !== 'function' && !attachable && !isIterable(source)) {
      throw new FST_SSE_INVALID_SOURCE(describe(source))
    }
    const request = this.request
    // (A second stream on one response would take it over from the first, which could then never be released.)
    if (this.sent || this.raw.headersSent) throw new FST_SSE_ALREADY_SENT(describe(`${request.method} ${request.url}`))
    if (request.method === 'HEAD') {
      // Headers only: starting the source would leave it running with nobody reading.
      this.headers(responseHeaders(this)).send()
      return this
    }
    const connection = new SseConnection(this.raw, request.log, state.registry, state.heartbeats, settings.heartbeatInterval)
    try {
      if (attachable) {
        (source as Subscription)[kAttach](connection) // (refuses a subscription already in use)
      } else {
        let iterable = source
        if (typeof source === 'function') {
          iterable = source({ signal: connection.signal, lastEventId: request.lastEventId, request })
          if (!isIterable(iterable)) throw new FST_SSE_INVALID_SOURCE(`${describe(iterable)}, returned by the source function`)
        }
        pump(connection, iterable as SseIterable<unknown>, settings.serialize)
      }
    } catch (err) {
      connection.reason = 'error'
      connection.closed()
      throw err // (nothing is written yet: Fastify's error handler answers)
    }
    // From here on the response is ours, written straight to the socket without a stream
    // object per connection: onSend hooks do not run (onResponse hooks and the request log do).
    // The producer is first pulled on the next tick, once the stream is open.
    this.hijack()
    // Open with a chunk, so the head goes out at once and EventSource.onopen fires.
    connection.open(this.statusCode, responseHeaders(this), settings.retry === undefined ? ':\n\n' : `retry: ${settings.retry}\n\n`)
    return this
  }
}
