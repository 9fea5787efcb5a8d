import { createHash, randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { describe, errorCodes } from '../errors.js'
import { APPEND, LAST_ID, READ_AFTER } from './redis-scripts.js'
import type { NewEvent, ReadAfterResult, ReplayStore, StoredEvent } from './store.js'

const { FST_SSE_INVALID_OPTION, FST_SSE_STORE_UNAVAILABLE } = errorCodes

export interface RedisReplayStoreOptions {
  /** Your ioredis client. The store never quits it. */
  client: Redis
  /**
   * Prefix of every key. For Redis Cluster, a hash tag such as `'{sse}:'` keeps all keys
   * in one slot (each channel's keys already share a slot).
   * @default 'sse:'
   */
  keyPrefix?: string
  /**
   * Events kept per channel, approximately (`XADD MAXLEN ~`): at least this many are kept.
   * @default 1000
   */
  maxLen?: number
  /**
   * When set, events older than this many ms are trimmed (`XTRIM MINID ~`, so at least
   * this long), and an idle channel's keys expire after it.
   * @default undefined
   */
  maxAgeMs?: number
}

/** `<epoch>:<ms>-<seq>`: 12 hex digits, then a Redis stream id without leading zeros. */
const ID = /^([0-9a-f]{12}):((?:0|[1-9][0-9]{0,19})-(?:0|[1-9][0-9]{0,19}))$/
const U64_MAX = 18446744073709551615n

const SHA = new Map([APPEND, READ_AFTER, LAST_ID].map(script => [script, createHash('sha1').update(script).digest('hex')]))

type Entry = [id: string, fields: string[]]
type Reply = ['gap', 'epoch' | 'unknown' | 'expired'] | ['ok', Entry[]]

/**
 * Replay store on Redis Streams: one stream per channel, ids from Redis (shared by every
 * instance), exclusive-range reads, gaps for malformed, foreign, trimmed or wiped ids.
 * The public id is `<epoch>:<stream id>`; the epoch is made when a channel's stream is
 * created, so after FLUSHALL, a restart without persistence or a deleted key, an old id is
 * a gap (`epoch`) instead of silently matching the new stream. See docs/redis.md.
 */
export class RedisReplayStore implements ReplayStore {
  readonly client: Redis
  readonly keyPrefix: string
  readonly maxLen: number
  readonly maxAgeMs: number | undefined

  constructor (options: RedisReplayStoreOptions) {
    const { client, keyPrefix = 'sse:', maxLen = 1_000, maxAgeMs } = options ?? {}
    if (client === null || typeof client !== 'object' || typeof client.evalsha !== 'function') {
      throw new FST_SSE_INVALID_OPTION('client', describe(client), 'Pass an ioredis client')
    }
    if (typeof keyPrefix !== 'string') throw new FST_SSE_INVALID_OPTION('keyPrefix', describe(keyPrefix), 'Pass a string')
    if (!Number.isSafeInteger(maxLen) || maxLen < 1) {
      throw new FST_SSE_INVALID_OPTION('maxLen', describe(maxLen), 'Pass a positive whole number')
    }
    if (maxAgeMs !== undefined && (!Number.isSafeInteger(maxAgeMs) || maxAgeMs < 1)) {
      throw new FST_SSE_INVALID_OPTION('maxAgeMs', describe(maxAgeMs), 'Pass a positive whole number of milliseconds')
    }
    this.client = client
    this.keyPrefix = keyPrefix
    this.maxLen = maxLen
    this.maxAgeMs = maxAgeMs
  }

  /** The stream key and the meta key of a channel (same hash slot). */
  keys (channel: string): [stream: string, meta: string] {
    const stream = `${this.keyPrefix}{${channel}}`
    return [stream, `${stream}:meta`]
  }

  append (channel: string, event: NewEvent): Promise<StoredEvent> {
    return this.appendAndPublish(channel, event, '')
  }

  /**
   * Appends and, in the same Lua script, PUBLISHes `<id>\n<0 | 1event>\n<data>` on
   * `pubsubChannel` (unless ''): used by RedisBackplane so id order is delivery order.
   */
  async appendAndPublish (channel: string, event: NewEvent, pubsubChannel: string): Promise<StoredEvent> {
    const args = [randomBytes(6).toString('hex'), String(this.maxLen), this.maxAgeMs === undefined ? '' : String(this.maxAgeMs), pubsubChannel, event.data]
    if (event.event !== undefined) args.push(event.event)
    const id = await this.#run(APPEND, channel, args) as string
    return event.event === undefined ? { id, data: event.data } : { id, event: event.event, data: event.data }
  }

  async readAfter (channel: string, lastEventId: string): Promise<ReadAfterResult> {
    const match = ID.exec(lastEventId)
    if (match === null) return { gap: true, reason: 'malformed' }
    const [, epoch, streamId] = match as unknown as [string, string, string]
    const [ms, seq] = streamId.split('-') as [string, string]
    if (BigInt(ms) > U64_MAX || BigInt(seq) > U64_MAX) return { gap: true, reason: 'malformed' }
    const reply = await this.#run(READ_AFTER, channel, [epoch, streamId]) as Reply
    if (reply[0] === 'gap') return { gap: true, reason: reply[1] }
    return { gap: false, events: reply[1].map(entry => toEvent(epoch, entry)) }
  }

  /** Orders two ids of one epoch by their stream ids; undefined for malformed ids or different epochs. */
  compareIds (a: string, b: string): number | undefined {
    const x = ID.exec(a)
    const y = ID.exec(b)
    if (x === null || y === null || x[1] !== y[1]) return undefined
    const [xs, xq] = (x[2] as string).split('-').map(BigInt) as [bigint, bigint]
    const [ys, yq] = (y[2] as string).split('-').map(BigInt) as [bigint, bigint]
    if (xs !== ys) return xs < ys ? -1 : 1
    return xq === yq ? 0 : xq < yq ? -1 : 1
  }

  /** The id of the channel's newest event, or undefined when it has none. */
  async lastId (channel: string): Promise<string | undefined> {
    const id = await this.#run(LAST_ID, channel, []) as string | null
    return id ?? undefined
  }

  /**
   * The id just before the channel's current history, `<epoch>:0-0`: reading after it gives
   * every event of this epoch (or an `expired` gap once its start was trimmed). Undefined
   * when the channel has no history.
   */
  async startId (channel: string): Promise<string | undefined> {
    const last = await this.lastId(channel)
    return last === undefined ? undefined : `${last.slice(0, last.indexOf(':'))}:0-0`
  }

  /** Nothing to release: the client is yours. */
  async close (): Promise<void> {}

  /** EVALSHA, loading the script with EVAL when Redis does not know it (e.g. after a restart). */
  async #run (script: string, channel: string, args: string[]): Promise<unknown> {
    const client = this.client
    if (client.status !== 'ready') {
      throw new FST_SSE_STORE_UNAVAILABLE(`redis client is ${client.status}`, { cause: new Error(`ioredis status: ${client.status}`) })
    }
    const sha = SHA.get(script) as string
    const keys = this.keys(channel)
    try {
      try {
        return await client.evalsha(sha, 2, ...keys, ...args)
      } catch (err) {
        if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err
        return await client.eval(script, 2, ...keys, ...args)
      }
    } catch (err) {
      throw new FST_SSE_STORE_UNAVAILABLE((err as Error).message, { cause: err })
    }
  }
}

function toEvent (epoch: string, [streamId, fields]: Entry): StoredEvent {
  let data = ''
  let event: string | undefined
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === 'd') data = fields[i + 1] as string
    else if (fields[i] === 'e') event = fields[i + 1] as string
  }
  const id = `${epoch}:${streamId}`
  return event === undefined ? { id, data } : { id, event, data }
}
