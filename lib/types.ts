import type { SseInput } from './encoder.js'
import type { SseHub } from './hub.js'
import type { SseReplyOptions } from './options.js'
import type { SseSource } from './reply-stream.js'

/**
 * A typed event map: event name -> data type. `reply.sse<MyEvents>(source)` then accepts
 * only messages whose `event` and `data` match, e.g.
 * `type MyEvents = { tick: { now: number }, done: null }` (an `interface` works too).
 */
export type SseEventMap<E = Record<string, unknown>> = { [K in keyof E]: unknown }

/** The messages a typed event map allows (plus plain strings and comments). */
export type SseEventOf<E extends SseEventMap<E>> =
  | string
  | { [K in keyof E & string]: { event: K, data: E[K], id?: string | number, retry?: number, comment?: string } }[keyof E & string]
  | { comment: string, id?: string | number, retry?: number }

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Streams `source` as `text/event-stream`: an (async) iterable of messages, a function
     * `({ signal, lastEventId, request }) => AsyncIterable`, or `app.sseHub.subscribe(...)`.
     * Returns the reply, so `return reply.sse(...)` works in any handler.
     */
    sse<E extends SseEventMap<E> = never>(
      // `& object`: a string is iterable, but not a source (it is refused at run time).
      source: SseSource<NoInfer<[E] extends [never] ? SseInput : SseEventOf<E>>> & object,
      options?: SseReplyOptions
    ): this
  }
  interface FastifyRequest {
    /** The Last-Event-ID header, else the `lastEventId` query parameter; undefined when absent or invalid. */
    readonly lastEventId: string | undefined
  }
  interface FastifyInstance {
    /** Broadcast channels with gap-free resume. */
    readonly sseHub: SseHub
  }
}
