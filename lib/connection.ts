import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Http2ServerResponse } from 'node:http2'
import type { FastifyBaseLogger } from 'fastify'
import { HEARTBEAT } from './encoder.js'
import type { HeartbeatTarget, Heartbeats } from './heartbeat.js'

export type RawResponse = ServerResponse | Http2ServerResponse

/** Why a stream ended: its source finished, the client left, the server closed, it failed, or it fell too far behind. */
export type CloseReason = 'end' | 'client' | 'shutdown' | 'error' | 'slow'

/** Producer methods, under symbols so that a hub subscription can be its own producer without a public `close()`. */
export const kPull = Symbol('fastify-sse-hub.pull')
export const kClose = Symbol('fastify-sse-hub.close')

/** What feeds a connection: a pump over an iterable, or a hub subscription. */
export interface Producer {
  /** The socket can take more: produce. Called on the next tick after attach(), then after each `drain`. */
  [kPull] (): void
  /** The connection is gone: stop, release the source. Called once. */
  [kClose] (reason: CloseReason): void
}

/** Bytes held back by cork before they are flushed without waiting for the next tick. */
const CORK_LIMIT = 16 * 1024

/** How long shutdown waits for a stream to flush its end before cutting it. */
const SHUTDOWN_GRACE_MS = 500

/** The connection of a response, so that shared listeners (no closure per stream) find it. */
export const kConnection = Symbol('fastify-sse-hub.connection')

type Carrier = RawResponse & { [kConnection]?: SseConnection }

function onDrain (this: Carrier): void {
  this[kConnection]?.drained()
}

function onClose (this: Carrier): void {
  this[kConnection]?.closed()
}

function uncork (connection: SseConnection): void {
  connection.uncork()
}

function start (connection: SseConnection): void {
  connection.drained()
}

/**
 * One SSE response, written straight to the raw response: frames are written whole (a
 * frame is never cut in half), writes made in the same tick are corked into one socket
 * write, and a full socket pauses the producer until `drain`. No stream object and no
 * closure per connection: an idle subscriber costs little more than its socket.
 */
export class SseConnection implements HeartbeatTarget {
  lastTick = 0
  reason: CloseReason | undefined
  #producer: Producer | undefined
  #controller: AbortController | undefined
  #ticker: { readonly tick: number } | undefined
  #corked = false
  #ended = false
  #closed = false

  constructor (
    readonly res: RawResponse,
    readonly log: FastifyBaseLogger,
    readonly registry: ConnectionRegistry,
    readonly heartbeats: Heartbeats,
    readonly heartbeatInterval: number
  ) {}

  /** Takes over the response: writes the head and the opening chunk (one socket write). */
  open (statusCode: number, headers: OutgoingHttpHeaders, opening: string): void {
    const res = this.res as Carrier & ServerResponse
    res[kConnection] = this
    res.on('drain', onDrain)
    res.once('close', onClose)
    this.registry.add(this)
    this.#ticker = this.heartbeats.add(this, this.heartbeatInterval)
    this.#corked = true
    res.cork()
    process.nextTick(uncork, this)
    res.writeHead(statusCode, headers)
    // Sent on its own (into the cork), the head string is flattened, not kept as a rope of
    // every header line for the life of the stream.
    res.flushHeaders()
    this.send(opening)
  }

  /** Aborted when the stream closes, for whatever reason. */
  get signal (): AbortSignal {
    this.#controller ??= new AbortController()
    return this.#controller.signal
  }

  get stopped (): boolean {
    return this.reason !== undefined
  }

  /** Bytes written but not yet taken by the socket. */
  get bufferedBytes (): number {
    return this.res.writableLength
  }

  /** Sets what feeds the stream; it is first pulled on the next tick (after the handler returned). */
  attach (producer: Producer): void {
    this.#producer = producer
    process.nextTick(start, this)
  }

  /**
   * Writes one whole frame; false once the socket is full (the producer should wait for
   * pull()). Once the stream is ending (finish(), e.g. shutdown flushing to a slow client)
   * frames are dropped: a hub subscription still live meanwhile must not write after the
   * end. Its client gets them from the replay store when it reconnects.
   */
  send (frame: string | Buffer): boolean {
    if (this.#ended || this.#closed) return false
    if (this.#ticker !== undefined) this.lastTick = this.#ticker.tick
    const res = this.res as ServerResponse
    if (!this.#corked) {
      this.#corked = true
      res.cork()
      process.nextTick(uncork, this)
    }
    const more = res.write(frame)
    // A producer that never yields (a tight `await publish()` loop) would hold everything
    // corked until the loop ends: flush early, so a fast reader drains as we go.
    if (res.writableLength >= CORK_LIMIT) this.uncork()
    return more
  }

  uncork (): void {
    if (!this.#corked) return
    this.#corked = false
    ;(this.res as ServerResponse).uncork()
  }

  heartbeat (): void {
    if (this.res.writableLength === 0) this.send(HEARTBEAT)
  }

  /** The socket took what was queued (or the stream just opened): the producer may go on. */
  drained (): void {
    if (!this.#ended && !this.#closed) this.#producer?.[kPull]()
  }

  /** Ends the response after what is queued. */
  finish (): void {
    if (this.#ended || this.#closed) return
    this.#ended = true
    this.reason ??= 'end'
    this.uncork()
    // (A response destroyed meanwhile is closing: ending it would pass for a clean end.)
    if (!this.res.destroyed) this.res.end()
  }

  /**
   * Ends the response because the server is closing (its source may have ended already, the
   * response still flushing): flush, then let the socket go (HTTP/2: the session), so that
   * server.close() is not held up; cut it all after a grace period.
   */
  shutdown (): void {
    this.reason ??= 'shutdown'
    // Read both now: a finished response lets go of its socket, a destroyed stream of its session.
    const session = 'stream' in this.res ? this.res.stream.session : undefined
    const socket = this.res.socket as { destroySoon?: () => void } | null
    const cut = setTimeout(() => {
      this.res.destroy()
      // HTTP/2: the grace period is over for the whole session too. (A graceful close would
      // wait for the peer, and a client that stopped reading never answers.)
      session?.destroy()
    }, SHUTDOWN_GRACE_MS).unref()
    this.res.once('close', () => {
      if (session !== undefined) {
        // HTTP/2: Node < 24 does not close sessions on server.close(), and Fastify only does
        // with forceCloseConnections: true. Graceful: GOAWAY; other streams on it finish first.
        // `cut` stays armed: a peer that does not close its side by then loses the session.
        session.close()
      } else {
        clearTimeout(cut)
        // HTTP/1.1 keep-alive: the socket would stay open. (light-my-request's has no destroySoon.)
        socket?.destroySoon?.()
      }
    })
    this.finish()
  }

  /** Closes the client's connection at once (slow consumer, failure). */
  cut (reason: CloseReason): void {
    this.reason ??= reason // (a stream already closing keeps its first reason; destroying twice is harmless)
    this.res.destroy()
  }

  /**
   * The response closed (ended and flushed, or the client left), or the stream failed before
   * it opened: release everything. Called once (a `once` listener).
   */
  closed (): void {
    this.#closed = true
    this.#corked = false
    this.reason ??= 'client'
    this.res.removeListener('drain', onDrain)
    ;(this.res as Carrier)[kConnection] = undefined
    this.heartbeats.remove(this, this.heartbeatInterval)
    this.registry.delete(this)
    this.#controller?.abort(this.reason)
    this.log.debug({ reason: this.reason }, 'fastify-sse-hub: stream closed')
    const producer = this.#producer
    this.#producer = undefined
    producer?.[kClose](this.reason)
  }
}

/** Every open SSE response of one app (until the response closes), so that closing the app ends them. */
export class ConnectionRegistry {
  readonly open = new Set<SseConnection>()
  #drained: (() => void) | undefined

  add (connection: SseConnection): void {
    this.open.add(connection)
  }

  delete (connection: SseConnection): void {
    this.open.delete(connection)
    if (this.open.size === 0) this.#drained?.()
  }

  /** Ends every open stream and resolves once all have closed. */
  async closeAll (): Promise<void> {
    if (this.open.size === 0) return
    const drained = new Promise<void>((resolve) => { this.#drained = resolve })
    for (const connection of this.open) connection.shutdown()
    await drained
  }
}
