// Pure: message -> one complete `text/event-stream` frame, per the WHATWG "Server-sent
// events" interpretation rules. This is the security boundary: nothing a caller passes can
// end a field early or start a second event. Imports nothing from Fastify or Node.
import { describe, errorCodes } from './errors.js'

const { FST_SSE_INVALID_FIELD, FST_SSE_INVALID_MESSAGE, FST_SSE_SERIALIZE } = errorCodes

/** Turns non-string `data` into a string (default `JSON.stringify`). */
export type Serializer = (data: unknown) => string

/** One event. Every field is optional; falsy values (`id: ''`, `id: 0`, `retry: 0`, `data: ''`) are sent. */
export interface SseMessage<D = unknown> {
  /** Sets the client's last event id; `''` resets it. No CR, LF or NUL. */
  id?: string | number
  /** The event name (`addEventListener(name)`); no CR or LF. */
  event?: string
  /** A string is sent as is (split into `data:` lines); anything else goes through `serialize`. */
  data?: D
  /** The client's reconnection delay in ms: a non-negative whole number. */
  retry?: number
  /** A comment line (`: text`), ignored by clients. */
  comment?: string
}

/** What a source may yield: a string (sent as `data`) or a message object. */
export type SseInput<D = unknown> = string | SseMessage<D>

/** The heartbeat: a lone comment line and a blank line. */
export const HEARTBEAT = ':\n\n'

const LINE_BREAK = /\r\n|\r|\n/g

function hasLineBreak (text: string): boolean {
  return text.includes('\n') || text.includes('\r')
}

/** `data:` lines for a string; CRLF, lone CR and lone LF each start a new line. */
export function encodeData (text: string): string {
  return hasLineBreak(text)
    ? `data: ${text.replace(LINE_BREAK, '\ndata: ')}\n`
    : `data: ${text}\n`
}

/** `:` comment lines for a string, one per line of the text. */
export function encodeComment (text: string): string {
  return hasLineBreak(text)
    ? `: ${text.replace(LINE_BREAK, '\n: ')}\n`
    : `: ${text}\n`
}

function invalid (field: string, value: unknown, fix: string): never {
  throw new FST_SSE_INVALID_FIELD(field, describe(value), fix)
}

/** Checks an event name: a string without CR or LF. */
export function checkEvent (event: unknown): string {
  if (typeof event !== 'string' || hasLineBreak(event)) invalid('event', event, 'Pass a string without CR or LF')
  return event
}

/** Checks an id: a string without CR, LF or NUL, or a finite number. Returns its text. */
export function checkId (id: unknown): string {
  if (typeof id === 'number' && Number.isFinite(id)) return String(id)
  if (typeof id !== 'string' || hasLineBreak(id) || id.includes('\0')) {
    invalid('id', id, 'Pass a string without CR, LF or NUL, or a finite number')
  }
  return id
}

/** Runs `serialize` on non-string data; throws FST_SSE_SERIALIZE unless it gives a string. */
export function serializeData (data: unknown, serialize: Serializer): string {
  if (typeof data === 'string') return data
  let text: unknown
  try {
    text = serialize(data)
  } catch (err) {
    throw new FST_SSE_SERIALIZE(describe(data), { cause: err })
  }
  if (typeof text !== 'string') throw new FST_SSE_SERIALIZE(`${describe(data)}, serialized to ${describe(text)}`)
  return text
}

/**
 * Encodes one message into one complete frame (ending with a blank line), or '' for a
 * message with no field. Throws FST_SSE_INVALID_MESSAGE, FST_SSE_INVALID_FIELD or
 * FST_SSE_SERIALIZE; it never returns part of a frame.
 */
export function encodeMessage (message: unknown, serialize: Serializer): string {
  if (typeof message === 'string') return encodeData(message) + '\n'
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new FST_SSE_INVALID_MESSAGE(describe(message))
  }
  const { id, event, data, retry, comment } = message as SseMessage
  let frame = ''
  if (comment !== undefined) {
    if (typeof comment !== 'string') invalid('comment', comment, 'Pass a string')
    frame += encodeComment(comment)
  }
  if (event !== undefined) frame += `event: ${checkEvent(event)}\n`
  if (id !== undefined) frame += `id: ${checkId(id)}\n`
  if (retry !== undefined) {
    if (!Number.isSafeInteger(retry) || retry < 0) invalid('retry', retry, 'Pass a non-negative whole number of milliseconds')
    frame += `retry: ${retry}\n`
  }
  if (data !== undefined) {
    frame += encodeData(serializeData(data, serialize))
  } else if (event !== undefined) {
    // A named event with no data line would never fire on the client: send empty data.
    frame += 'data: \n'
  }
  return frame === '' ? '' : frame + '\n'
}
