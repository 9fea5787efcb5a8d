import createError from '@fastify/error'

/**
 * Every error this plugin throws, by code. Each message names what was wrong (`got %s`)
 * and how to fix it. Store and backplane failures carry the original error as `cause`.
 */
export const errorCodes = {
  FST_SSE_INVALID_OPTION: createError(
    'FST_SSE_INVALID_OPTION',
    'fastify-sse-hub: option %s is invalid (got %s). %s.',
    500, TypeError),
  FST_SSE_INVALID_FIELD: createError(
    'FST_SSE_INVALID_FIELD',
    'fastify-sse-hub: message field %s is invalid (got %s). %s.',
    500, TypeError),
  FST_SSE_INVALID_MESSAGE: createError(
    'FST_SSE_INVALID_MESSAGE',
    'fastify-sse-hub: a message must be a string or an object with id, event, data, retry or comment (got %s). Pass a string or an object.',
    500, TypeError),
  FST_SSE_SERIALIZE: createError(
    'FST_SSE_SERIALIZE',
    'fastify-sse-hub: serialize failed for message data (got %s). Pass data that the serialize option turns into a string, or a string.',
    500),
  FST_SSE_INVALID_SOURCE: createError(
    'FST_SSE_INVALID_SOURCE',
    'fastify-sse-hub: reply.sse() needs an (async) iterable or a function returning one (got %s). Pass an async generator, an array or a hub subscription.',
    500, TypeError),
  FST_SSE_ALREADY_SENT: createError(
    'FST_SSE_ALREADY_SENT',
    'fastify-sse-hub: reply.sse() on a reply that is already sent or streaming (got %s). Call reply.sse() once per request, instead of any other reply.',
    500),
  FST_SSE_INVALID_CHANNEL: createError(
    'FST_SSE_INVALID_CHANNEL',
    'fastify-sse-hub: channel name is invalid (got %s). Use a non-empty string of at most 256 characters without control characters.',
    500, TypeError),
  FST_SSE_ID_NOT_ALLOWED: createError(
    'FST_SSE_ID_NOT_ALLOWED',
    'fastify-sse-hub: a published message cannot bring its own id (got %s). Remove id: the replay store assigns it and publish() resolves to it.',
    500, TypeError),
  FST_SSE_STORE_UNAVAILABLE: createError(
    'FST_SSE_STORE_UNAVAILABLE',
    'fastify-sse-hub: the replay store or backplane is unavailable (%s). Check the connection to it; the original error is in cause.',
    503),
  FST_SSE_SLOW_CONSUMER: createError(
    'FST_SSE_SLOW_CONSUMER',
    'fastify-sse-hub: subscriber fell behind by more than maxBufferedBytes (got %s bytes). Consume faster or raise maxBufferedBytes; resume with the last id.',
    500),
  FST_SSE_HUB_CLOSED: createError(
    'FST_SSE_HUB_CLOSED',
    'fastify-sse-hub: the hub is closed (got %s on a closed hub). Publish and subscribe before app.close().',
    503)
} as const

export type ErrorCode = keyof typeof errorCodes

/** Short, safe description of a value for error messages (never the whole payload). */
export function describe (value: unknown): string {
  let text: string
  if (typeof value === 'string') text = JSON.stringify(value)
  else if (typeof value === 'function') text = 'a function'
  else if (value === null || typeof value !== 'object') text = String(value)
  else if (Array.isArray(value)) text = 'an array'
  else text = 'an object'
  if (text.length <= 64) return text
  // Cut before a surrogate pair rather than through it: no lone surrogate in the message.
  const code = text.charCodeAt(60)
  return `${text.slice(0, code >= 0xd800 && code <= 0xdbff ? 60 : 61)}...`
}
