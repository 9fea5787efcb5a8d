import type { FastifyReply, FastifyRequest } from 'fastify'
import { ConnectionRegistry, SseConnection } from './connection.js'
import { describe, errorCodes } from './errors.js'
import type { Heartbeats } from './heartbeat.js'
import { checkStreamOptions } from './options.js'
import type { ResolvedOptions, SseReplyOptions } from './options.js'
import { pump } from './pump.js'
import { kAttach } from './subscription.js'
import type { Subscription } from './subscription.js'

const { FST_SSE_INVALID_SOURCE } = errorCodes

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

function setHeaders (reply: FastifyReply): void {
  reply.header('content-type', 'text/event-stream; charset=utf-8')
  // Hooks and other plugins may have chosen these: keep their choice.
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-cache')
  if (!reply.hasHeader('x-accel-buffering')) reply.header('x-accel-buffering', 'no')
  // HTTP/1.1 only (HTTP/2 forbids the header), and never against a client's `Connection: close`:
  // Node has already weighed both in shouldKeepAlive, and an explicit header would override it.
  if ((reply.raw as { shouldKeepAlive?: boolean }).shouldKeepAlive === true) reply.header('connection', 'keep-alive')
  reply.removeHeader('content-length')
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
    setHeaders(this)
    const request = this.request
    if (request.method === 'HEAD') {
      // Headers only: starting the source would leave it running with nobody reading.
      this.send()
      return this
    }
    const opening = settings.retry === undefined ? ':\n\n' : `retry: ${settings.retry}\n\n`
    const connection = new SseConnection(this.raw, request.log, state.registry, state.heartbeats, settings.heartbeatInterval, opening)
    if (attachable) {
      (source as Subscription)[kAttach](connection)
    } else {
      let iterable = source
      if (typeof source === 'function') {
        try {
          iterable = source({ signal: connection.signal, lastEventId: request.lastEventId, request })
          if (!isIterable(iterable)) throw new FST_SSE_INVALID_SOURCE(`${describe(iterable)}, returned by the source function`)
        } catch (err) {
          connection.reason = 'error'
          connection.destroy()
          throw err
        }
      }
      pump(connection, iterable as SseIterable<unknown>, settings.serialize)
    }
    this.send(connection)
    return this
  }
}
