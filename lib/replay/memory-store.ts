import { randomBytes } from 'node:crypto'
import { describe, errorCodes } from '../errors.js'
import type { NewEvent, ReadAfterResult, ReplayStore, StoredEvent } from './store.js'

const { FST_SSE_INVALID_OPTION } = errorCodes

export interface MemoryReplayStoreOptions {
  /**
   * Events kept per channel; the oldest go first.
   * @default 1000
   */
  maxEvents?: number
  /**
   * When set, events older than this many ms are dropped too.
   * @default undefined
   */
  maxAgeMs?: number
  /** Clock in ms, for tests. @default Date.now */
  now?: () => number
}

const ID = /^([a-z0-9]{1,16})-([1-9][0-9]{0,15})$/

/** One channel's history: a fixed-size ring of (seq, event, time), oldest first. */
class ChannelLog {
  readonly seqs: number[]
  readonly events: StoredEvent[]
  readonly times: number[]
  head = 0
  size = 0
  /** Seq of the newest event dropped from this channel (0: none). */
  evictedUpTo = 0

  constructor (readonly capacity: number) {
    this.seqs = new Array<number>(capacity)
    this.events = new Array<StoredEvent>(capacity)
    this.times = new Array<number>(capacity)
  }

  at (i: number): number {
    return (this.head + i) % this.capacity
  }

  push (seq: number, event: StoredEvent, time: number): void {
    if (this.size === this.capacity) this.shift()
    const slot = this.at(this.size++)
    this.seqs[slot] = seq
    this.events[slot] = event
    this.times[slot] = time
  }

  shift (): void {
    this.evictedUpTo = this.seqs[this.head] as number
    this.events[this.head] = undefined as unknown as StoredEvent
    this.head = (this.head + 1) % this.capacity
    this.size--
  }

  expire (oldest: number): void {
    while (this.size > 0 && (this.times[this.head] as number) < oldest) this.shift()
  }

  /** Events with a seq above `seq`: binary search, then copy. O(log n + k). */
  after (seq: number): StoredEvent[] {
    let lo = 0
    let hi = this.size
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.seqs[this.at(mid)] as number) <= seq) lo = mid + 1
      else hi = mid
    }
    const out = new Array<StoredEvent>(this.size - lo)
    for (let i = lo; i < this.size; i++) out[i - lo] = this.events[this.at(i)] as StoredEvent
    return out
  }
}

/**
 * The default replay store: recent events per channel in memory, bounded by count and
 * optionally by age. Ids are `<epoch>-<seq>`: the epoch is random per store, so an id from
 * before a restart (or from another store) is a gap, never a silent match.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly epoch = randomBytes(6).toString('hex')
  readonly maxEvents: number
  readonly maxAgeMs: number | undefined
  readonly #now: () => number
  readonly #channels = new Map<string, ChannelLog>()
  #seq = 0
  /** Newest seq of any channel log dropped whole: an unknown channel may have had events up to it. */
  #forgottenUpTo = 0
  #sweeper: NodeJS.Timeout | undefined

  constructor (options: MemoryReplayStoreOptions = {}) {
    const { maxEvents = 1_000, maxAgeMs, now = Date.now } = options
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
      throw new FST_SSE_INVALID_OPTION('maxEvents', describe(maxEvents), 'Pass a positive whole number')
    }
    if (maxAgeMs !== undefined && (!Number.isSafeInteger(maxAgeMs) || maxAgeMs < 1)) {
      throw new FST_SSE_INVALID_OPTION('maxAgeMs', describe(maxAgeMs), 'Pass a positive whole number of milliseconds')
    }
    if (typeof now !== 'function') throw new FST_SSE_INVALID_OPTION('now', describe(now), 'Pass a function returning ms')
    this.maxEvents = maxEvents
    this.maxAgeMs = maxAgeMs
    this.#now = now
    if (maxAgeMs !== undefined) {
      this.#sweeper = setInterval(() => this.sweep(), Math.max(1_000, maxAgeMs)).unref()
    }
  }

  async append (channel: string, event: NewEvent): Promise<StoredEvent> {
    const seq = ++this.#seq
    const stored: StoredEvent = event.event === undefined
      ? { id: `${this.epoch}-${seq}`, data: event.data }
      : { id: `${this.epoch}-${seq}`, event: event.event, data: event.data }
    let log = this.#channels.get(channel)
    if (log === undefined) {
      log = new ChannelLog(this.maxEvents)
      this.#channels.set(channel, log)
    }
    const now = this.#now()
    if (this.maxAgeMs !== undefined) log.expire(now - this.maxAgeMs)
    log.push(seq, stored, now)
    return stored
  }

  async readAfter (channel: string, lastEventId: string): Promise<ReadAfterResult> {
    const match = ID.exec(lastEventId)
    if (match === null) return { gap: true, reason: 'malformed' }
    if (match[1] !== this.epoch) return { gap: true, reason: 'epoch' }
    const seq = Number(match[2])
    if (seq > this.#seq) return { gap: true, reason: 'unknown' }
    const log = this.#channels.get(channel)
    if (log === undefined) return seq < this.#forgottenUpTo ? { gap: true, reason: 'expired' } : { gap: false, events: [] }
    if (this.maxAgeMs !== undefined) log.expire(this.#now() - this.maxAgeMs)
    if (seq < log.evictedUpTo) return { gap: true, reason: 'expired' }
    return { gap: false, events: log.after(seq) }
  }

  compareIds (a: string, b: string): number | undefined {
    const x = ID.exec(a)
    const y = ID.exec(b)
    if (x === null || y === null || x[1] !== this.epoch || y[1] !== this.epoch) return undefined
    return Number(x[2]) - Number(y[2])
  }

  /** Drops expired events, and channel logs left empty (remembering how far they went). */
  sweep (): void {
    if (this.maxAgeMs === undefined) return
    const oldest = this.#now() - this.maxAgeMs
    for (const [channel, log] of this.#channels) {
      log.expire(oldest)
      if (log.size === 0) {
        this.#forgottenUpTo = Math.max(this.#forgottenUpTo, log.evictedUpTo)
        this.#channels.delete(channel)
      }
    }
  }

  /** Channels that hold a history (for stats and tests). */
  get channelCount (): number {
    return this.#channels.size
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
  }
}
