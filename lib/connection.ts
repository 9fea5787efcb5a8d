import { Readable } from 'node:stream'
import type { ServerResponse } from 'node:http'
import type { Http2ServerResponse } from 'node:http2'
import type { FastifyBaseLogger } from 'fastify'
import { HEARTBEAT } from './encoder.js'
import type { HeartbeatTarget, Heartbeats } from './heartbeat.js'

export type RawResponse = ServerResponse | Http2ServerResponse

/** Why a stream ended: its source finished, the client left, the server closed, it failed, or it fell too far behind. */
export type CloseReason = 'end' | 'client' | 'shutdown' | 'error' | 'slow'

/** What feeds a connection: a pump over an iterable, or a hub subscription. */
export interface Producer {
  /** The socket can take more: produce (called by the stream machinery). */
  pull? (): void
  /** The connection is gone: stop, release the source. Called once. */
  close (reason: CloseReason): void
}

/** Bytes held back by cork before they are flushed without waiting for the next tick. */
const CORK_LIMIT = 16 * 1024

/** How long shutdown waits for a stream to flush its end before cutting it. */
const SHUTDOWN_GRACE_MS = 500

function uncork (connection: SseConnection): void {
  connection.uncork()
}

/**
 * One SSE response. Fastify pipes it to the client (so its hooks and logging run as for
 * any reply); frames are pushed whole, so a frame is never cut in half. Writes made in the
 * same tick are corked into one socket write.
 */
export class SseConnection extends Readable implements HeartbeatTarget {
  lastTick = 0
  reason: CloseReason | undefined
  #producer: Producer | undefined
  #controller: AbortController | undefined
  #ticker: { readonly tick: number } | undefined
  #corked = false
  #ended = false
  /** Fastify piped this very stream into the response (no onSend hook replaced it). */
  #piped = false

  constructor (
    readonly res: RawResponse,
    readonly log: FastifyBaseLogger,
    readonly registry: ConnectionRegistry,
    readonly heartbeats: Heartbeats,
    readonly heartbeatInterval: number,
    opening: string
  ) {
    super({ highWaterMark: 16 * 1024 })
    this.push(opening)
    registry.add(this)
    this.#ticker = heartbeats.add(this, heartbeatInterval)
    res.once('pipe', (source: unknown) => { this.#piped = source === this })
    res.once('close', () => {
      this.destroy()
      // Only now: a stream whose source has ended may still be flushing to a slow client, and
      // shutdown must reach it too (or its HTTP/2 session holds up server.close()).
      registry.delete(this)
    })
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
    return this.readableLength + this.res.writableLength
  }

  attach (producer: Producer): void {
    this.#producer = producer
  }

  /**
   * Queues one whole frame; false once the socket is full (the producer should wait for pull()).
   * Once the stream is ending (finish(), e.g. shutdown flushing to a slow client) frames are
   * dropped: a hub subscription still live meanwhile must not push after the end. Its client
   * gets them from the replay store when it reconnects.
   */
  send (frame: string | Buffer): boolean {
    if (this.#ended) return false
    if (this.#ticker !== undefined) this.lastTick = this.#ticker.tick
    if (!this.#corked && 'cork' in this.res) {
      this.#corked = true
      this.res.cork()
      process.nextTick(uncork, this)
    }
    const more = this.push(frame)
    // A producer that never yields (a tight `await publish()` loop) would hold everything
    // corked until the loop ends: flush early, so a fast reader drains as we go.
    if (this.#corked && this.res.writableLength >= CORK_LIMIT) this.uncork()
    return more
  }

  /**
   * The broadcast hot path: when Fastify piped this stream straight into the response and
   * nothing waits in it, a frame goes to the response directly, skipping the stream's
   * machinery (same bytes, same order). Otherwise it is queued like any other frame.
   */
  write (frame: Buffer): void {
    if (!this.#piped || this.readableLength > 0 || this.#ended) {
      this.send(frame)
      return
    }
    if (this.#ticker !== undefined) this.lastTick = this.#ticker.tick
    ;(this.res as ServerResponse).write(frame)
  }

  uncork (): void {
    if (!this.#corked) return
    this.#corked = false
    ;(this.res as ServerResponse).uncork()
  }

  heartbeat (): void {
    if (this.readableLength === 0 && !this.#ended) this.send(HEARTBEAT)
  }

  /** Ends the response after what is queued. */
  finish (): void {
    if (this.#ended) return
    this.#ended = true
    this.push(null)
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
    this.destroy()
  }

  override _read (): void {
    this.#producer?.pull?.()
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    this.reason ??= this.#ended ? 'end' : 'client'
    this.heartbeats.remove(this, this.heartbeatInterval)
    this.#controller?.abort(this.reason)
    this.log.debug({ reason: this.reason }, 'fastify-sse-hub: stream closed')
    const producer = this.#producer
    this.#producer = undefined
    producer?.close(this.reason)
    callback(err)
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
