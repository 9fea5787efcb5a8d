import { describe, errorCodes } from './errors.js'
import { kClose, kPull } from './connection.js'
import type { CloseReason, Producer, SseConnection } from './connection.js'
import type { GapReason, StoredEvent } from './replay/store.js'

const { FST_SSE_SLOW_CONSUMER, FST_SSE_INVALID_SOURCE } = errorCodes

/** An event as a subscription yields it: a stored event, or the `reset` event. */
export interface HubEvent {
  id?: string
  event?: string
  data: string
}

/** What a subscription needs from its hub. */
export interface SubscriptionHost {
  readonly maxBufferedBytes: number
  /** The store can order ids (`compareIds`): late live copies are recognised by id order. */
  readonly ordersIds: boolean
  join (subscription: Subscription): Promise<void>
  leave (subscription: Subscription): void
  readAfter (channel: string, lastEventId: string): Promise<{ gap: false, events: StoredEvent[] } | { gap: true, reason: GapReason }>
  compareIds (a: string, b: string): number | undefined
  /** The event's frame, as text. */
  encode (event: HubEvent): string
  dropped (subscription: Subscription, err: Error): void
  failed (subscription: Subscription, err: unknown): void
}

export interface SubscribeOptions {
  /** Resume after this id: first every retained event after it, then live ones. */
  lastEventId?: string | undefined
  /** Ends the subscription when aborted. */
  signal?: AbortSignal | undefined
}

interface Entry {
  event: HubEvent
  frame: Buffer
  /** Part of a replay: bounded by the store's retention, so not held against maxBufferedBytes. */
  replay?: boolean
}

/** Largest write made of queued frames. */
const COALESCE_BYTES = 64 * 1024

/** Connects a subscription straight to a stream (reply.sse's fast path). */
export const kAttach = Symbol('fastify-sse-hub.attach')

type Waiter = { resolve: (result: IteratorResult<HubEvent>) => void, reject: (err: unknown) => void }

/**
 * A hub subscription: replay-then-live with no gap and no duplicate. A hand-written
 * iterator (a generator parked on an await could not be returned): `return()` settles a
 * pending `next()` at once. Handed to `reply.sse`, it writes the hub's pre-encoded frames
 * straight to the connection instead.
 */
export class Subscription implements AsyncIterableIterator<HubEvent>, Producer {
  /** Entries waiting to be written (sink) or read (iterator), from `head` on. */
  #queue: Entry[] = []
  #head = 0
  #queuedBytes = 0
  #replayBytes = 0
  /** Replay done: the queue may be drained. */
  #ready = false
  /** Ready and nothing queued: frames go straight to the connection. */
  #live = false
  #ended = false
  #started = false
  #error: Error | undefined
  /** The newest id the client has (its lastEventId, or the last replayed): live events up to it are copies. */
  #floor: string | undefined
  /** Ids just replayed, for stores that cannot order ids. */
  #replayed: Set<string> | undefined
  #sink: SseConnection | undefined
  #waiters: Waiter[] = []
  #onAbort: (() => void) | undefined

  constructor (
    readonly host: SubscriptionHost,
    readonly channel: string,
    readonly options: SubscribeOptions = {}
  ) {}

  /** Bytes waiting for this subscriber. */
  get bufferedBytes (): number {
    return this.#sink === undefined ? this.#queuedBytes : this.#queuedBytes + this.#sink.bufferedBytes
  }

  [Symbol.asyncIterator] (): this {
    return this
  }

  [kAttach] (connection: SseConnection): void {
    if (this.#started) throw new FST_SSE_INVALID_SOURCE('a hub subscription that is already in use')
    this.#sink = connection
    connection.attach(this)
    this.#start()
  }

  /** The connection's socket can take more. */
  [kPull] (): void {
    this.#drain()
  }

  /** The connection closed. */
  [kClose] (reason: CloseReason): void {
    this.#end(reason)
  }

  next (): Promise<IteratorResult<HubEvent>> {
    if (this.#sink !== undefined) return Promise.reject(new FST_SSE_INVALID_SOURCE('a hub subscription that is already streaming'))
    if (!this.#started) this.#start()
    if (this.#ready && this.#head < this.#queue.length) return Promise.resolve({ done: false, value: this.#shift().event })
    if (this.#ended) {
      const error = this.#error
      this.#error = undefined
      return error === undefined ? Promise.resolve({ done: true, value: undefined }) : Promise.reject(error)
    }
    return new Promise((resolve, reject) => { this.#waiters.push({ resolve, reject }) })
  }

  return (): Promise<IteratorResult<HubEvent>> {
    this.#end()
    return Promise.resolve({ done: true, value: undefined })
  }

  /** A live event from the hub: the hot path of a broadcast. */
  offer (event: HubEvent & { id: string }, frame: Buffer): void {
    if (this.#floor !== undefined) {
      // A publish racing the resume, or a backplane running late (its pub/sub connection is
      // not the one the replay was read on), can bring an event the client already has, even
      // after the replay was written. Live events arrive in id order: after the first newer one, none is.
      const order = this.host.compareIds(event.id, this.#floor)
      if (order === undefined ? this.#replayed?.has(event.id) === true : order <= 0) return
      this.#floor = undefined
      this.#replayed = undefined
    }
    if (this.#live) {
      const sink = this.#sink as SseConnection
      sink.send(frame)
      if (sink.bufferedBytes > this.host.maxBufferedBytes) this.#overflow(sink.bufferedBytes)
      return
    }
    this.#push({ event, frame })
  }

  #start (): void {
    this.#started = true
    const { signal } = this.options
    if (signal !== undefined) {
      if (signal.aborted) return this.#end()
      this.#onAbort = () => { this.#end() }
      signal.addEventListener('abort', this.#onAbort, { once: true })
    }
    this.#resume().then(undefined, (err: unknown) => {
      if (this.#ended) return
      this.host.failed(this, err)
      this.#end(undefined, err as Error)
    })
  }

  async #resume (): Promise<void> {
    // Join first, then read: an event published meanwhile is queued live and de-duplicated below.
    await this.host.join(this)
    if (this.#ended) return // returned while joining
    const { lastEventId } = this.options
    if (lastEventId !== undefined) {
      const result = await this.host.readAfter(this.channel, lastEventId)
      if (this.#ended) return
      const live = this.#queue.splice(this.#head)
      this.#queue = []
      this.#head = 0
      this.#queuedBytes = 0
      this.#replayBytes = 0
      if (result.gap) {
        this.#push(this.#reset(result.reason, lastEventId))
      } else {
        this.#replay(lastEventId, result.events)
      }
      for (const entry of live) this.offer(entry.event as HubEvent & { id: string }, entry.frame)
    }
    this.#ready = true // (#drain does nothing once ended)
    this.#drain()
  }

  /**
   * Queues the missed events. A stream gets their frames joined into entries of about
   * COALESCE_BYTES (a thousand events are a few writes, not a thousand entries); an iterator
   * gets one entry per event.
   */
  #replay (lastEventId: string, events: StoredEvent[]): void {
    const last = events.length === 0 ? undefined : events[events.length - 1]
    this.#floor = last === undefined ? lastEventId : last.id
    // Stores that cannot order ids: remember which ones were replayed, to spot late live copies.
    if (!this.host.ordersIds) this.#replayed = new Set(events.map((event) => event.id))
    if (this.#sink === undefined) {
      for (const event of events) this.#push({ event, frame: Buffer.from(this.host.encode(event)), replay: true })
      return
    }
    // Joined as text and converted once per entry: cheaper than a Buffer per event.
    let text = ''
    for (let i = 0; i < events.length; i++) {
      text += this.host.encode(events[i] as StoredEvent)
      if (text.length >= COALESCE_BYTES || i === events.length - 1) {
        this.#push({ event: events[i] as StoredEvent, frame: Buffer.from(text), replay: true })
        text = ''
      }
    }
  }

  #reset (reason: GapReason, lastEventId: string): Entry {
    const event: HubEvent = { event: 'reset', data: JSON.stringify({ reason, lastEventId }) }
    return { event, frame: Buffer.from(this.host.encode(event)), replay: true }
  }

  #push (entry: Entry): void {
    this.#queue.push(entry)
    this.#queuedBytes += entry.frame.length
    if (entry.replay === true) this.#replayBytes += entry.frame.length
    else if (this.bufferedBytes - this.#replayBytes > this.host.maxBufferedBytes) return this.#overflow(this.bufferedBytes)
    if (this.#ready) this.#drain()
  }

  #shift (): Entry {
    const entry = this.#queue[this.#head] as Entry
    this.#queue[this.#head++] = undefined as unknown as Entry
    this.#queuedBytes -= entry.frame.length
    if (entry.replay === true) this.#replayBytes -= entry.frame.length
    if (this.#head === this.#queue.length) {
      this.#queue = []
      this.#head = 0
    }
    return entry
  }

  /** Queued frames joined into one write of about `limit` bytes (a replay is one or two writes, not a thousand). */
  #take (limit: number): Buffer {
    const first = this.#shift().frame
    if (this.#head === this.#queue.length || first.length >= limit) return first
    const frames = [first]
    let bytes = first.length
    while (this.#head < this.#queue.length && bytes < limit) {
      const frame = this.#shift().frame
      frames.push(frame)
      bytes += frame.length
    }
    return Buffer.concat(frames, bytes)
  }

  /** Writes queued entries while the socket takes them (sink), or hands one to a waiting next(). */
  #drain (): void {
    if (!this.#ready || this.#ended) return
    const sink = this.#sink
    if (sink === undefined) {
      while (this.#waiters.length > 0 && this.#head < this.#queue.length) {
        (this.#waiters.shift() as Waiter).resolve({ done: false, value: this.#shift().event })
      }
      return
    }
    while (this.#head < this.#queue.length) {
      if (!sink.send(this.#take(COALESCE_BYTES)) && this.#head < this.#queue.length) return
    }
    this.#live = true
  }

  #overflow (bytes: number): void {
    const err = new FST_SSE_SLOW_CONSUMER(describe(bytes))
    this.host.dropped(this, err)
    if (this.#sink !== undefined) this.#sink.cut('slow')
    this.#end('slow', err)
  }

  #end (reason?: CloseReason, err?: Error): void {
    if (this.#ended) return
    this.#ended = true
    this.#live = false
    this.#queue = []
    this.#head = 0
    this.#queuedBytes = 0
    this.#replayBytes = 0
    if (this.#onAbort !== undefined) this.options.signal?.removeEventListener('abort', this.#onAbort)
    if (this.#started) this.host.leave(this)
    const sink = this.#sink
    if (sink !== undefined) {
      if (reason === undefined) sink.finish()
      return
    }
    const waiters = this.#waiters
    this.#waiters = []
    if (waiters.length === 0) this.#error = err
    for (const waiter of waiters) {
      if (err === undefined) waiter.resolve({ done: true, value: undefined })
      else waiter.reject(err)
    }
  }
}
