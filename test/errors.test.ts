import t from 'tap'
import { errorCodes as fromIndex } from '../lib/index.js'
import { describe, errorCodes } from '../lib/errors.js'
import type { ErrorCode } from '../lib/errors.js'

/** Each code: the arguments a caller passes, the exact message, the status code and the base class. */
const catalogue: Record<ErrorCode, { args: unknown[], message: string, statusCode: number, base: ErrorConstructor }> = {
  FST_SSE_INVALID_OPTION: {
    args: ['retry', '-1', 'Pass a non-negative whole number of milliseconds'],
    message: 'fastify-sse-hub: option retry is invalid (got -1). Pass a non-negative whole number of milliseconds.',
    statusCode: 500,
    base: TypeError
  },
  FST_SSE_INVALID_FIELD: {
    args: ['id', '"a\\nb"', 'Pass a string without CR, LF or NUL, or a finite number'],
    message: 'fastify-sse-hub: message field id is invalid (got "a\\nb"). Pass a string without CR, LF or NUL, or a finite number.',
    statusCode: 500,
    base: TypeError
  },
  FST_SSE_INVALID_MESSAGE: {
    args: ['42'],
    message: 'fastify-sse-hub: a message must be a string or an object with id, event, data, retry or comment (got 42). Pass a string or an object.',
    statusCode: 500,
    base: TypeError
  },
  FST_SSE_SERIALIZE: {
    args: ['an object'],
    message: 'fastify-sse-hub: serialize failed for message data (got an object). Pass data that the serialize option turns into a string, or a string.',
    statusCode: 500,
    base: Error
  },
  FST_SSE_INVALID_SOURCE: {
    args: ['42'],
    message: 'fastify-sse-hub: reply.sse() needs an (async) iterable or a function returning one (got 42). Pass an async generator, an array or a hub subscription.',
    statusCode: 500,
    base: TypeError
  },
  FST_SSE_ALREADY_SENT: {
    args: ['"GET /twice"'],
    message: 'fastify-sse-hub: reply.sse() on a reply that is already sent or streaming (got "GET /twice"). Call reply.sse() once per request, instead of any other reply.',
    statusCode: 500,
    base: Error
  },
  FST_SSE_INVALID_CHANNEL: {
    args: ['""'],
    message: 'fastify-sse-hub: channel name is invalid (got ""). Use a non-empty string of at most 256 characters without control characters.',
    statusCode: 500,
    base: TypeError
  },
  FST_SSE_ID_NOT_ALLOWED: {
    args: ['"7"'],
    message: 'fastify-sse-hub: a published message cannot bring its own id (got "7"). Remove id: the replay store assigns it and publish() resolves to it.',
    statusCode: 500,
    base: TypeError
  },
  FST_SSE_STORE_UNAVAILABLE: {
    args: ['connect ECONNREFUSED'],
    message: 'fastify-sse-hub: the replay store or backplane is unavailable (connect ECONNREFUSED). Check the connection to it; the original error is in cause.',
    statusCode: 503,
    base: Error
  },
  FST_SSE_SLOW_CONSUMER: {
    args: ['1048577'],
    message: 'fastify-sse-hub: subscriber fell behind by more than maxBufferedBytes (got 1048577 bytes). Consume faster or raise maxBufferedBytes; resume with the last id.',
    statusCode: 500,
    base: Error
  },
  FST_SSE_HUB_CLOSED: {
    args: ['publish to "room"'],
    message: 'fastify-sse-hub: the hub is closed (got publish to "room" on a closed hub). Publish and subscribe before app.close().',
    statusCode: 503,
    base: Error
  }
}

t.test('the catalogue lists exactly these codes, and the entry point exports the same object', async (t) => {
  t.strictSame(Object.keys(errorCodes).sort(), Object.keys(catalogue).sort())
  t.equal(fromIndex, errorCodes)
})

for (const [code, { args, message, statusCode, base }] of Object.entries(catalogue)) {
  t.test(`${code} names the problem, what was passed and the fix, with status ${statusCode}`, async (t) => {
    const Err = errorCodes[code as ErrorCode] as unknown as new (...args: unknown[]) => Error & { code: string, statusCode: number }
    const err = new Err(...args)
    t.equal(err.code, code)
    t.ok(code.startsWith('FST_SSE_'), 'FST_SSE_ prefix')
    t.equal(err.name, 'FastifyError')
    t.equal(err.statusCode, statusCode)
    t.ok(err instanceof base, `is a ${base.name}`)
    t.ok(err instanceof Err)
    t.equal(err.message, message)
    // The shape every message follows: 'fastify-sse-hub: <what> (<got>). <Fix sentence>.'
    t.match(err.message, /^fastify-sse-hub: .+ \((got )?[^()]+\)\. [A-Z].*\.$/)
    t.notMatch(err.message, /%s/, 'every placeholder is filled')
    t.equal(err.cause, undefined)
  })
}

t.test('store failures carry the original error as cause', async (t) => {
  const original = new Error('ECONNRESET')
  const err = new errorCodes.FST_SSE_STORE_UNAVAILABLE('ECONNRESET', { cause: original })
  t.equal(err.cause, original)
  t.equal(err.message, 'fastify-sse-hub: the replay store or backplane is unavailable (ECONNRESET). Check the connection to it; the original error is in cause.')
})

t.test('describe() gives a short, safe description of each kind of value', async (t) => {
  t.equal(describe('text'), '"text"')
  t.equal(describe('a\nb\u0000'), '"a\\nb\\u0000"', 'control characters are escaped')
  t.equal(describe(''), '""')
  t.equal(describe(() => 1), 'a function')
  t.equal(describe(class Store {}), 'a function')
  t.equal(describe(null), 'null')
  t.equal(describe(undefined), 'undefined')
  t.equal(describe(-1.5), '-1.5')
  t.equal(describe(NaN), 'NaN')
  t.equal(describe(false), 'false')
  t.equal(describe(10n), '10')
  t.equal(describe(Symbol('s')), 'Symbol(s)')
  t.equal(describe([1, 2]), 'an array')
  t.equal(describe({ secret: 'x' }), 'an object', 'never the contents of an object')
  t.equal(describe(Object.create(null)), 'an object', 'an object without a prototype (String() would throw)')
  t.equal(describe(new Map()), 'an object')
})

t.test('describe() keeps 64 characters and cuts longer text to 61 plus "..."', async (t) => {
  const fits = 'a'.repeat(62)
  t.equal(describe(fits), `"${fits}"`, '64 characters with the quotes: kept whole')
  const over = 'a'.repeat(63)
  t.equal(describe(over), `"${'a'.repeat(60)}...`, '65 characters: cut')
  t.equal(describe(over).length, 64)
  t.equal(describe('x'.repeat(100_000)).length, 64, 'a huge payload stays short')
  t.equal(describe(Symbol('s'.repeat(70))), `Symbol(${'s'.repeat(54)}...`, 'primitives are cut too')
})

t.test('describe() never cuts through a surrogate pair', async (t) => {
  // '"' + 59 'a' puts the emoji's high surrogate at index 60, its low one at 61.
  const text = describe('a'.repeat(59) + '😀' + 'b'.repeat(10))
  t.equal(text, `"${'a'.repeat(59)}...`)
  t.notMatch(text, /[\ud800-\udfff]/, 'no lone surrogate')
  // One earlier: the pair fits within 61 characters and is kept whole.
  t.equal(describe('a'.repeat(58) + '😀' + 'b'.repeat(10)), `"${'a'.repeat(58)}😀...`)
})
