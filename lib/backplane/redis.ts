import type { Redis } from 'ioredis'
import { describe, errorCodes } from '../errors.js'
import { RedisReplayStore } from '../replay/redis-store.js'
import type { NewEvent, ReplayStore, StoredEvent } from '../replay/store.js'
import type { Backplane, Deliver } from './backplane.js'

const { FST_SSE_INVALID_OPTION, FST_SSE_STORE_UNAVAILABLE } = errorCodes

/** Ids remembered per channel to drop duplicates (recovery overlapping live messages). */
const SEEN = 1_000

export interface RedisBackplaneOptions {
  /** Your ioredis client: used to publish, and duplicated once for the subscriber connection. */
  client: Redis
  /**
   * Prefix of the Redis pub/sub channel of each hub channel.
   * @default 'sse:'
   */
  channelPrefix?: string
}

interface ChannelState {
  /** Newest id delivered here (or the stream's newest at subscribe): where recovery reads from. */
  last: string | undefined
  /** Recently delivered ids, oldest first. */
  seen: Set<string>
  /** While recovering after a reconnect: live messages held back until the missed ones are out. */
  held: StoredEvent[] | undefined
}

function unavailable (what: string, err: unknown): Error {
  if ((err as { code?: unknown })?.code === 'FST_SSE_STORE_UNAVAILABLE') return err as Error
  return new FST_SSE_STORE_UNAVAILABLE(`${what}: ${String((err as Error).message)}`, { cause: err })
}

/** `<id>\n<0 | 1 + event>\n<data>`: id and event hold no LF; the same framing as the Lua append. */
export function encodeBackplaneMessage (event: StoredEvent): string {
  return `${event.id}\n${event.event === undefined ? '0' : '1' + event.event}\n${event.data}`
}

export function decodeBackplaneMessage (message: string): StoredEvent {
  const a = message.indexOf('\n')
  const b = message.indexOf('\n', a + 1)
  const id = message.slice(0, a)
  const data = message.slice(b + 1)
  return message[a + 1] === '1' ? { id, event: message.slice(a + 2, b), data } : { id, data }
}

/**
 * Cross-instance fan-out over Redis pub/sub: one subscriber connection per instance (a
 * `duplicate()` of your client), one Redis SUBSCRIBE per channel with local subscribers.
 * With a RedisReplayStore on the same client, the XADD and the PUBLISH run in one Lua script
 * (see `publish`). After the subscriber connection comes back, every channel is
 * resubscribed and the events published meanwhile are read from the store and delivered,
 * in order, without duplicates. See docs/redis.md.
 */
export class RedisBackplane implements Backplane {
  readonly client: Redis
  readonly channelPrefix: string
  #sub: Redis | undefined
  #deliver: Deliver | undefined
  #store: ReplayStore | undefined
  readonly #channels = new Map<string, ChannelState>()
  /** Recoveries run one after another, in the order the connection came back. */
  #recovery: Promise<void> = Promise.resolve()

  constructor (options: RedisBackplaneOptions) {
    const { client, channelPrefix = 'sse:' } = options ?? {}
    if (client === null || typeof client !== 'object' || typeof client.duplicate !== 'function') {
      throw new FST_SSE_INVALID_OPTION('client', describe(client), 'Pass an ioredis client')
    }
    if (typeof channelPrefix !== 'string') {
      throw new FST_SSE_INVALID_OPTION('channelPrefix', describe(channelPrefix), 'Pass a string')
    }
    this.client = client
    this.channelPrefix = channelPrefix
  }

  /** Opens the subscriber connection; rejects with FST_SSE_STORE_UNAVAILABLE when Redis cannot be reached. */
  async start (deliver: Deliver, store: ReplayStore): Promise<void> {
    this.#deliver = deliver
    this.#store = store
    // Our own connection: no offline queue (fail fast while down), our own resubscribe.
    const sub = this.client.duplicate({ lazyConnect: false, autoResubscribe: false, enableOfflineQueue: false })
    this.#sub = sub
    try {
      await new Promise<void>((resolve, reject) => {
        sub.once('ready', resolve)
        sub.once('error', reject)
      })
    } catch (err) {
      sub.disconnect()
      throw unavailable('cannot open the subscriber connection', err)
    }
    sub.removeAllListeners('error')
    // Never an unhandled 'error': ioredis reconnects by itself; publish reports the outage.
    sub.on('error', () => {})
    sub.on('message', (name: string, message: string) => { this.#onMessage(name, message) })
    sub.on('ready', () => { this.#recovery = this.#recovery.then(() => this.#recover()) })
  }

  /**
   * Appends through the store and publishes the stored event to every instance.
   * With a RedisReplayStore on this same client, XADD and PUBLISH are one Lua script, so
   * Redis runs them back to back: ids and deliveries have one order everywhere. Done as
   * two commands, instance A could XADD id 1, instance B XADD id 2 and PUBLISH it, and only
   * then A PUBLISH id 1: subscribers would see 2 before 1 (and the dedupe would drop 1).
   * With any other store, the append and the PUBLISH are separate, so two instances
   * publishing to one channel at once may deliver out of id order; and if the PUBLISH
   * fails after the append, the event is stored (replayed on resume) but not sent live.
   */
  async publish (channel: string, event: NewEvent, store: ReplayStore): Promise<StoredEvent> {
    const name = this.channelPrefix + channel
    if (store instanceof RedisReplayStore && store.client === this.client) {
      return store.appendAndPublish(channel, event, name)
    }
    let stored: StoredEvent
    try {
      stored = await store.append(channel, event)
    } catch (err) {
      throw unavailable('append failed', err)
    }
    await this.#call('publish failed', this.client, () => this.client.publish(name, encodeBackplaneMessage(stored)))
    return stored
  }

  /** Resolves once Redis confirmed the SUBSCRIBE. */
  async subscribe (channel: string): Promise<void> {
    if (this.#channels.has(channel)) return
    const sub = this.#sub as Redis
    const state: ChannelState = { last: undefined, seen: new Set(), held: undefined }
    this.#channels.set(channel, state)
    try {
      await this.#call('subscribe failed', sub, () => sub.subscribe(this.channelPrefix + channel))
      const store = this.#store
      if (store instanceof RedisReplayStore) {
        // Where recovery starts when nothing was delivered here yet.
        const last = await store.lastId(channel)
        state.last ??= last
      }
    } catch (err) {
      this.#channels.delete(channel)
      throw err
    }
  }

  async unsubscribe (channel: string): Promise<void> {
    if (!this.#channels.delete(channel)) return
    const sub = this.#sub as Redis
    // While down there is nothing to undo: the channel is not resubscribed on recovery.
    if (sub.status !== 'ready') return
    await this.#call('unsubscribe failed', sub, () => sub.unsubscribe(this.channelPrefix + channel))
  }

  /** Closes the subscriber connection (never your client). */
  async close (): Promise<void> {
    this.#channels.clear()
    this.#deliver = undefined
    this.#sub?.disconnect()
    this.#sub = undefined
    await this.#recovery
  }

  async #call<T> (what: string, connection: Redis, fn: () => Promise<T>): Promise<T> {
    if (connection.status !== 'ready') {
      throw new FST_SSE_STORE_UNAVAILABLE(`redis connection is ${connection.status}`, { cause: new Error(`ioredis status: ${connection.status}`) })
    }
    try {
      return await fn()
    } catch (err) {
      throw unavailable(what, err)
    }
  }

  #onMessage (name: string, message: string): void {
    const channel = name.slice(this.channelPrefix.length)
    const state = this.#channels.get(channel)
    if (state === undefined) return
    const event = decodeBackplaneMessage(message)
    if (state.held !== undefined) state.held.push(event)
    else this.#accept(channel, state, event)
  }

  #accept (channel: string, state: ChannelState, event: StoredEvent): void {
    if (state.seen.has(event.id)) return
    state.seen.add(event.id)
    if (state.seen.size > SEEN) state.seen.delete(state.seen.values().next().value as string)
    state.last = event.id
    this.#deliver?.(channel, event)
  }

  /** What the store holds for a channel after the last event delivered here. */
  async #missed (channel: string, state: ChannelState, store: ReplayStore): Promise<StoredEvent[]> {
    let read = state.last === undefined ? undefined : await store.readAfter(channel, state.last)
    if (read === undefined || (read.gap && read.reason === 'epoch')) {
      // Nothing delivered here yet (the channel had no history when subscribed), or the history
      // was wiped and began again (a new epoch, e.g. Redis restarted without persistence):
      // every event of the current history came after the last one delivered here.
      const start = store instanceof RedisReplayStore ? await store.startId(channel) : undefined
      read = start === undefined ? undefined : await store.readAfter(channel, start)
    }
    // Any other gap (history trimmed while we were away) cannot be recovered here.
    return read === undefined || read.gap ? [] : read.events
  }

  /**
   * After a reconnect: hold live messages, resubscribe every channel, deliver what the store
   * holds after the last id delivered per channel, then the held messages (deduped by id).
   */
  async #recover (): Promise<void> {
    const sub = this.#sub as Redis
    const store = this.#store as ReplayStore
    const channels = [...this.#channels]
    if (channels.length === 0) return
    for (const [, state] of channels) state.held = []
    let failed = false
    try {
      await sub.subscribe(...channels.map(([channel]) => this.channelPrefix + channel))
      for (const [channel, state] of channels) {
        for (const event of await this.#missed(channel, state, store)) this.#accept(channel, state, event)
      }
    } catch {
      // Down again, or the store failed: deliver nothing out of order. Subscribers get the
      // missed events from the store when they resume; live delivery goes on.
      failed = true
    }
    for (const [channel, state] of channels) {
      const held = state.held as StoredEvent[]
      state.held = undefined
      if (!failed) for (const event of held) this.#accept(channel, state, event)
    }
  }
}
