// Pure: the Last-Event-ID a client sent -> string | undefined. Imports nothing from Fastify or Node.

/** Largest accepted Last-Event-ID, in UTF-8 bytes. */
export const MAX_LAST_EVENT_ID_BYTES = 1024

const FORBIDDEN = /[\r\n\0]/

function utf8Length (text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) { bytes += 4; i++ } else bytes += 3
    } else bytes += 3
  }
  return bytes
}

const NON_ASCII = /[^\u0000-\u007f]/ // eslint-disable-line no-control-regex
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/ // eslint-disable-line no-control-regex
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Node hands header values over as latin1 (one char per byte), but clients send
 * Last-Event-ID as UTF-8: turn such a value back into the id the client meant. A value
 * that is not a valid UTF-8 byte sequence, or already holds wider characters (e.g. from
 * `app.inject`), is kept as it is.
 */
export function decodeHeader (value: string): string {
  if (!NON_ASCII.test(value) || BEYOND_LATIN1.test(value)) return value
  const bytes = new Uint8Array(value.length)
  for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i)
  try {
    return utf8.decode(bytes)
  } catch {
    return value
  }
}

export type LastEventIdRejection = 'too-long' | 'forbidden-character'

/** Why a value is not an acceptable id, or undefined when it is. */
export function rejectLastEventId (value: string): LastEventIdRejection | undefined {
  // 3 bytes per UTF-16 unit at most: a short string needs no byte count.
  if (value.length * 3 > MAX_LAST_EVENT_ID_BYTES && utf8Length(value) > MAX_LAST_EVENT_ID_BYTES) return 'too-long'
  if (FORBIDDEN.test(value)) return 'forbidden-character'
  return undefined
}

export interface LastEventIdResult {
  /** The accepted id, if any. */
  value: string | undefined
  /** Where a value was rejected, and why (for a debug log line). */
  rejected?: { from: 'header' | 'query', reason: LastEventIdRejection }
}

/**
 * The header wins; the `lastEventId` query parameter is the fallback for polyfills that
 * cannot set headers. An empty, over-long (in UTF-8 bytes) or CR/LF/NUL-holding value
 * counts as absent. `header` is the raw value Node gives (latin1-decoded; see decodeHeader).
 */
export function readLastEventId (header: unknown, query: unknown): LastEventIdResult {
  let rejected: LastEventIdResult['rejected']
  for (const [from, raw] of [['header', header], ['query', query]] as const) {
    if (typeof raw !== 'string' || raw === '') continue
    const value = from === 'header' ? decodeHeader(raw) : raw
    const reason = rejectLastEventId(value)
    if (reason === undefined) return rejected === undefined ? { value } : { value, rejected }
    rejected ??= { from, reason }
  }
  return rejected === undefined ? { value: undefined } : { value: undefined, rejected }
}
