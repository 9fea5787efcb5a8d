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
 * cannot set headers. An empty, over-long or CR/LF/NUL-holding value counts as absent.
 */
export function readLastEventId (header: unknown, query: unknown): LastEventIdResult {
  let rejected: LastEventIdResult['rejected']
  for (const [from, value] of [['header', header], ['query', query]] as const) {
    if (typeof value !== 'string' || value === '') continue
    const reason = rejectLastEventId(value)
    if (reason === undefined) return rejected === undefined ? { value } : { value, rejected }
    rejected ??= { from, reason }
  }
  return rejected === undefined ? { value: undefined } : { value: undefined, rejected }
}
