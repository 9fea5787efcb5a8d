import { describe, errorCodes } from './errors.js'
import type { Backplane } from './backplane/backplane.js'
import type { ReplayStore } from './replay/store.js'
import type { Serializer } from './encoder.js'

const { FST_SSE_INVALID_OPTION } = errorCodes

/** Options of the plugin, given to `app.register(fastifySseHub, options)`. */
export interface FastifySseHubOptions {
  /**
   * Milliseconds of silence after which a `:` comment line is sent; 0 turns heartbeats off.
   * @default 15000
   */
  heartbeatInterval?: number
  /**
   * When set, `retry: <ms>` is sent as each stream opens (the client's reconnection delay).
   * @default undefined
   */
  retry?: number
  /**
   * Turns non-string `data` into a string.
   * @default JSON.stringify
   */
  serialize?: Serializer
  /**
   * Per-connection cap, in bytes, on what waits to be written to a slow hub subscriber;
   * past it the connection is closed (it resumes from the store on reconnect).
   * @default 1048576
   */
  maxBufferedBytes?: number
  /**
   * Where hub events get their ids and are kept for resume.
   * @default new MemoryReplayStore({ maxEvents: 1000 })
   */
  replayStore?: ReplayStore
  /**
   * How a publish reaches subscribers on every instance.
   * @default new InProcessBackplane()
   */
  backplane?: Backplane
}

/** Per-call options of `reply.sse(source, options)`. */
export interface SseReplyOptions {
  /** Overrides the plugin's `heartbeatInterval` for this stream. */
  heartbeatInterval?: number
  /** Overrides the plugin's `retry` for this stream. */
  retry?: number
  /** Overrides the plugin's `serialize` for this stream. */
  serialize?: Serializer
}

export const DEFAULTS = Object.freeze({
  heartbeatInterval: 15_000,
  retry: undefined,
  serialize: JSON.stringify as Serializer,
  maxBufferedBytes: 1 << 20,
  maxEvents: 1_000
})

export interface ResolvedOptions {
  heartbeatInterval: number
  retry: number | undefined
  serialize: Serializer
  maxBufferedBytes: number
}

const STREAM_KNOWN = new Set(['heartbeatInterval', 'retry', 'serialize'])
const KNOWN = new Set([...STREAM_KNOWN, 'maxBufferedBytes', 'replayStore', 'backplane'])
/** Options Fastify's `register()` itself takes (and types) for every plugin; ours ignores them. */
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers'])
/** Largest delay setTimeout accepts; longer ones fire at once. */
const MAX_TIMER = 2 ** 31 - 1

function check (ok: boolean, name: string, value: unknown, fix: string): void {
  if (!ok) throw new FST_SSE_INVALID_OPTION(name, describe(value), fix)
}

function isInt (value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max
}

function checkKeys (options: object, known: Set<string>, where: string, ignored?: Set<string>): void {
  for (const key of Object.keys(options)) {
    if (known.has(key) || ignored?.has(key) === true) continue
    check(false, `${where}${key}`, (options as Record<string, unknown>)[key], `Known options are ${[...known].join(', ')}`)
  }
}

/** Validates `reply.sse()` options (`where` prefixes the option name in the error), or, with `where` '', the stream part of the plugin options. */
export function checkStreamOptions (options: SseReplyOptions, where: string): void {
  if (where !== '') {
    check(options !== null && typeof options === 'object', where.replace(/\.$/, ''), options, 'Pass an object')
    checkKeys(options, STREAM_KNOWN, where)
  }
  const { heartbeatInterval, retry, serialize } = options
  if (heartbeatInterval !== undefined) {
    check(isInt(heartbeatInterval, 0, MAX_TIMER), `${where}heartbeatInterval`, heartbeatInterval,
      'Pass a whole number of milliseconds, or 0 to turn heartbeats off')
  }
  if (retry !== undefined) {
    check(isInt(retry, 0), `${where}retry`, retry, 'Pass a non-negative whole number of milliseconds')
  }
  if (serialize !== undefined) {
    check(typeof serialize === 'function', `${where}serialize`, serialize, 'Pass a function returning a string')
  }
}

/** Validates the plugin options once, at registration, and fills in the defaults. */
export function resolveOptions (options: FastifySseHubOptions): ResolvedOptions {
  check(options !== null && typeof options === 'object', 'options', options, 'Pass an object')
  checkKeys(options, KNOWN, '', REGISTER_OPTIONS)
  checkStreamOptions(options, '')
  const { maxBufferedBytes, replayStore, backplane } = options
  if (maxBufferedBytes !== undefined) {
    check(isInt(maxBufferedBytes, 1), 'maxBufferedBytes', maxBufferedBytes, 'Pass a positive whole number of bytes')
  }
  if (replayStore !== undefined) {
    const ok = replayStore !== null && typeof replayStore === 'object' &&
      typeof replayStore.append === 'function' && typeof replayStore.readAfter === 'function'
    check(ok, 'replayStore', replayStore, 'Pass a ReplayStore (an object with append() and readAfter())')
  }
  if (backplane !== undefined) {
    const ok = backplane !== null && typeof backplane === 'object' && typeof backplane.publish === 'function' &&
      typeof backplane.subscribe === 'function' && typeof backplane.start === 'function' &&
      typeof backplane.unsubscribe === 'function' && typeof backplane.close === 'function'
    check(ok, 'backplane', backplane, 'Pass a Backplane (an object with start(), publish(), subscribe(), unsubscribe() and close())')
  }
  return {
    heartbeatInterval: options.heartbeatInterval ?? DEFAULTS.heartbeatInterval,
    retry: options.retry ?? DEFAULTS.retry,
    serialize: options.serialize ?? DEFAULTS.serialize,
    maxBufferedBytes: maxBufferedBytes ?? DEFAULTS.maxBufferedBytes
  }
}
