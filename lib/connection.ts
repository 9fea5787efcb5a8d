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

/** Bytes of frames held for the next tick before they are written at once. */
const BATCH_LIMIT = 16 * 1024

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

function flush (connection: SseConnection): void {
  connection.flush()
}

/**
 * Frames below this average size are copied into one chunk; larger ones are written one by
 * one (still one syscall, under cork), so a broadcast's big frames stay shared by every
 * subscriber instead of being copied into each one's chunk.
 */
const SMALL_FRAME = 1024

/** Frames of one batch as one chunk: a string when they all are, else one Buffer. */
function join (frames: Array<string | Buffer>): string | Buffer {
  if (frames.every((frame) => typeof frame === 'string')) return frames.join('')
  return Buffer.concat(frames.map((frame) => typeof frame === 'string' ? Buffer.from(frame) : frame))
}

function start (connection: SseConnection): void {
  connection.drained()
}

/**
 * One SSE response, written straight to the raw response. Frames are written whole (a
 * frame is never cut in half); the frames sent in one tick are joined into one write on the
 * next (one chunk and one syscall, however many events a burst brings), or as soon as they
 * pass BATCH_LIMIT bytes. A full socket pauses the producer until `drain`. No stream object
 * and no closure per connection: an idle subscriber costs little more than its socket.
 */
export class SseConnection implements HeartbeatTarget {
  lastTick = 0
  reason: CloseReason | undefined
  #producer: Producer | undefined
  #controller: AbortController | undefined
  #ticker: { readonly tick: number } | undefined
  /** Frames sent in this tick, written together by flush(). */
  #batch: Array<string | Buffer> | undefined
  #batchBytes = 0
  /** The response holds the head back until the first flush, so both go out in one write. */
  #headCorked = false
  /** The last write filled the socket: the producer waits for `drain`. */
  #full = false
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
    this.#headCorked = true
    res.cork()
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

  /** Bytes sent but not yet taken by the socket. */
  get bufferedBytes (): number {
    return this.#batchBytes + this.res.writableLength
  }

  /** Sets what feeds the stream; it is first pulled on the next tick (after the handler returned). */
  attach (producer: Producer): void {
    this.#producer = producer
    process.nextTick(start, this)
  }

  /**
   * Sends one whole frame; false once the socket is full (the producer should wait for
   * pull()). Once the stream is ending (finish(), e.g. shutdown flushing to a slow client)
   * frames are dropped: a hub subscription still live meanwhile must not write after the
   * end. Its client gets them from the replay store when it reconnects.
   */
  send (frame: string | Buffer): boolean {
    if (this.#ended || this.#closed) return false
    if (this.#ticker !== undefined) this.lastTick = this.#ticker.tick
    if (this.#batch === undefined) {
      this.#batch = [frame]
      process.nextTick(flush, this)
    } else {
      this.#batch.push(frame)
    }
    this.#batchBytes += frame.length
    // A producer that never yields (a tight `await publish()` loop never lets the next tick
    // come) would pile frames up until it ends: write early, so a fast reader drains as we go.
    if (this.#batchBytes >= BATCH_LIMIT) this.flush()
    return !this.#full
  }

  /** Writes the frames of this tick as one chunk, in one syscall. */
  flush (): void {
    const batch = this.#batch
    if (batch === undefined) return
    const bytes = this.#batchBytes
    this.#batch = undefined
    this.#batchBytes = 0
    if (this.#closed || this.res.destroyed) return
    const res = this.res as ServerResponse
    res.cork() // (so the writes go out now, in one syscall, not on a tick of Node's own)
    let more = true
    if (batch.length === 1) more = res.write(batch[0] as string | Buffer)
    else if (bytes < SMALL_FRAME * batch.length) more = res.write(join(batch))
    else for (const frame of batch) more = res.write(frame)
    if (!more) this.#full = true
    res.uncork()
    if (this.#headCorked) {
      this.#headCorked = false
      res.uncork()
    }
  }

  heartbeat (): void {
    if (this.bufferedBytes === 0) this.send(HEARTBEAT)
  }

  /** The socket took what was queued (or the stream just opened): the producer may go on. */
  drained (): void {
    this.#full = false
    if (!this.#ended && !this.#closed) this.#producer?.[kPull]()
  }

  /** Ends the response after what is queued. */
  finish (): void {
    if (this.#ended || this.#closed) return
    this.reason ??= 'end'
    this.flush()
    this.#ended = true
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
    this.#batch = undefined
    this.#batchBytes = 0
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
