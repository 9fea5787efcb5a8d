import t from 'tap'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { MAX_LAST_EVENT_ID_BYTES, decodeHeader, readLastEventId, rejectLastEventId } from '../lib/last-event-id.js'
import { build } from './helpers/build.js'

/** How Node hands a header over: one char per byte of the UTF-8 the client sent. */
function asLatin1 (text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1')
}

t.test('the limit is 1 KiB', async (t) => {
  t.equal(MAX_LAST_EVENT_ID_BYTES, 1024)
})

t.test('reads the header, and the header wins over the query parameter', async (t) => {
  t.strictSame(readLastEventId('h-1', undefined), { value: 'h-1' })
  t.strictSame(readLastEventId('h-1', 'q-1'), { value: 'h-1' })
})

t.test('falls back to the query parameter', async (t) => {
  t.strictSame(readLastEventId(undefined, 'q-1'), { value: 'q-1' })
  t.strictSame(readLastEventId('', 'q-1'), { value: 'q-1' }, 'an empty header counts as absent')
})

t.test('an empty or missing value is absent, with nothing reported', async (t) => {
  t.strictSame(readLastEventId(undefined, undefined), { value: undefined })
  t.strictSame(readLastEventId('', ''), { value: undefined })
})

t.test('ignores values that are not strings', async (t) => {
  t.strictSame(readLastEventId(['a', 'b'], undefined), { value: undefined })
  t.strictSame(readLastEventId(undefined, ['a', 'b']), { value: undefined })
  t.strictSame(readLastEventId(5, { toString: () => 'x' }), { value: undefined })
  t.strictSame(readLastEventId(null, 'q'), { value: 'q' })
})

t.test('rejects CR, LF and NUL anywhere in the value', async (t) => {
  for (const value of ['a\rb', 'a\nb', 'a\r\nb', 'a\u0000b', '\n', '\u0000', 'end\r']) {
    t.equal(rejectLastEventId(value), 'forbidden-character', JSON.stringify(value))
    t.strictSame(readLastEventId(value, undefined), { value: undefined, rejected: { from: 'header', reason: 'forbidden-character' } })
  }
  t.equal(rejectLastEventId('a\tb\u0001\u007f c'), undefined, 'other control characters are fine')
})

t.test('accepts exactly 1024 UTF-8 bytes and rejects 1025, whatever the characters', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['ASCII', 'a'.repeat(1024), 'a'.repeat(1025)],
    ['2-byte é', 'é'.repeat(512), 'é'.repeat(512) + 'a'],
    ['3-byte €', '€'.repeat(341) + 'a', '€'.repeat(341) + 'aa'],
    ['4-byte surrogate pairs', '😀'.repeat(256), '😀'.repeat(256) + 'a'],
    ['mixed', 'a€é😀'.repeat(102) + '😀', 'a€é😀'.repeat(102) + '😀a'],
    ['lone surrogates (3 bytes each, as U+FFFD)', '\ud800'.repeat(341) + 'a', '\udc00'.repeat(341) + 'aa'],
    ['a high surrogate before a non-surrogate', '\ud800a'.repeat(256), '\ud800a'.repeat(256) + 'a'],
    ['a high surrogate at the very end', 'a'.repeat(1021) + '\ud800', 'a'.repeat(1022) + '\ud800']
  ]
  for (const [what, fits, over] of cases) {
    t.equal(new TextEncoder().encode(fits).length, 1024, `${what}: the fitting value is 1024 bytes`)
    t.equal(new TextEncoder().encode(over).length, 1025, `${what}: the other is 1025 bytes`)
    t.equal(rejectLastEventId(fits), undefined, `${what}: 1024 bytes accepted`)
    t.equal(rejectLastEventId(over), 'too-long', `${what}: 1025 bytes rejected`)
    t.strictSame(readLastEventId(undefined, fits), { value: fits })
    t.strictSame(readLastEventId(undefined, over), { value: undefined, rejected: { from: 'query', reason: 'too-long' } })
  }
  t.equal(rejectLastEventId('😀'.repeat(170)), undefined, 'short values need no byte count')
  t.equal(rejectLastEventId('a\n'.repeat(600)), 'too-long', 'length is checked first')
})

t.test('reports the first rejection, and still takes a valid query parameter', async (t) => {
  t.strictSame(readLastEventId('a\nb', 'q'), { value: 'q', rejected: { from: 'header', reason: 'forbidden-character' } })
  t.strictSame(readLastEventId('x'.repeat(2000), 'a\rb'), { value: undefined, rejected: { from: 'header', reason: 'too-long' } })
  t.strictSame(readLastEventId(undefined, 'a\u0000'), { value: undefined, rejected: { from: 'query', reason: 'forbidden-character' } })
})

t.test('decodes a header Node read as latin1 back into the UTF-8 id the client sent', async (t) => {
  t.equal(decodeHeader(asLatin1('é€😀')), 'é€😀')
  t.equal(decodeHeader(asLatin1('\ufeffbom')), '\ufeffbom', 'a leading BOM is kept')
  t.equal(decodeHeader('plain-ascii'), 'plain-ascii')
  t.equal(decodeHeader('caf\u00e9'), 'caf\u00e9', 'not valid UTF-8 bytes: kept as is')
  t.equal(decodeHeader('\u00c3'), '\u00c3', 'a truncated sequence: kept as is')
  t.equal(decodeHeader('é€😀'), 'é€😀', 'already wider than latin1 (app.inject): kept as is')
  t.strictSame(readLastEventId(asLatin1('é'.repeat(512)), undefined), { value: 'é'.repeat(512) }, '1024 bytes on the wire')
  t.strictSame(readLastEventId(asLatin1('é'.repeat(512) + 'a'), undefined), { value: undefined, rejected: { from: 'header', reason: 'too-long' } })
  t.strictSame(readLastEventId(undefined, asLatin1('é')), { value: asLatin1('é') }, 'the query is decoded by Fastify already: never re-decoded')
})

t.test('request.lastEventId through Fastify', async (t) => {
  const app = await build(t)
  app.get('/id', async (request) => ({ id: request.lastEventId ?? null }))
  const id = async (url: string, headers: Record<string, string> = {}): Promise<unknown> =>
    (await app.inject({ url, headers })).json<{ id: unknown }>().id

  t.equal(await id('/id', { 'last-event-id': 'h-7' }), 'h-7')
  t.equal(await id('/id?lastEventId=q-7'), 'q-7')
  t.equal(await id('/id?lastEventId=q-7', { 'last-event-id': 'h-7' }), 'h-7', 'the header wins')
  t.equal(await id('/id?lastEventId=%C3%A9%F0%9F%98%80'), 'é😀', 'the query parameter is percent-decoded as UTF-8')
  t.equal(await id('/id'), null)
  t.equal(await id('/id?lastEventId='), null)
  t.equal(await id('/id?lastEventId=a&lastEventId=b'), null, 'a repeated parameter (an array) is ignored')
  t.equal(await id('/id?lastEventId=' + 'a'.repeat(1024)), 'a'.repeat(1024))
  t.equal(await id('/id?lastEventId=' + 'a'.repeat(1025)), null)
  t.same(app.logs.filter((line) => line.msg === 'fastify-sse-hub: Last-Event-ID ignored').length, 1, 'one debug line, for the over-long value')
})

t.test('logs a rejected value at debug with where it came from and why', async (t) => {
  const app = await build(t)
  app.get('/id', async (request) => ({ id: request.lastEventId ?? null }))
  const res = await app.inject({ url: '/id?lastEventId=a%0Ab', headers: { 'last-event-id': 'x'.repeat(1025) } })
  t.strictSame(res.json(), { id: null })
  const lines = app.logs.filter((line) => line.msg === 'fastify-sse-hub: Last-Event-ID ignored')
  t.equal(lines.length, 1)
  const { level, from, reason, reqId } = lines[0] ?? {}
  t.strictSame({ level, from, reason }, { level: 20, from: 'header', reason: 'too-long' })
  t.equal(typeof reqId, 'string', 'logged through the request logger')
  t.notOk(JSON.stringify(lines[0]).includes('xxxx'), 'the rejected value itself is not logged')
})

t.test('a query that is not a plain object never throws', async (t) => {
  const odd: unknown[] = ['a string', null, undefined, 42, ['lastEventId'], Object.create(null), { lastEventId: 7 }, { lastEventId: { nested: true } }]
  for (const parsed of odd) {
    const app = await build(t, {}, { routerOptions: { querystringParser: () => parsed as Record<string, string> } })
    app.get('/id', async (request) => ({ id: request.lastEventId ?? null }))
    const res = await app.inject({ url: '/id?lastEventId=q' })
    t.equal(res.statusCode, 200, `querystringParser returning ${String(JSON.stringify(parsed))}`)
    t.strictSame(res.json(), { id: null })
    const withHeader = await app.inject({ url: '/id?x', headers: { 'last-event-id': 'h' } })
    t.strictSame(withHeader.json(), { id: 'h' }, 'the header still works')
  }
})

t.test('the source function receives the same lastEventId', async (t) => {
  const app = await build(t)
  let seen: string | undefined = 'not called'
  app.get('/sse', (request, reply) => reply.sse(({ lastEventId }) => {
    seen = lastEventId
    return []
  }))
  await app.inject({ url: '/sse', headers: { 'last-event-id': 'h-9' } })
  t.equal(seen, 'h-9')
  await app.inject({ url: '/sse?lastEventId=a%00' })
  t.equal(seen, undefined)
})

t.test('a UTF-8 Last-Event-ID sent over a real socket arrives as the id the client meant', async (t) => {
  const app = await build(t)
  app.get('/id', async (request) => ({ id: request.lastEventId ?? null, raw: request.headers['last-event-id'] }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const get = (header: string): Promise<{ id: unknown, raw: unknown }> => new Promise((resolve, reject) => {
    // Node writes header strings as latin1: this puts exactly the UTF-8 bytes on the wire.
    const req = httpRequest({ host: '127.0.0.1', port, path: '/id', headers: { 'last-event-id': asLatin1(header) } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve(JSON.parse(body) as { id: unknown, raw: unknown }) })
    })
    req.on('error', reject)
    req.end()
  })
  t.strictSame(await get('é€😀-1'), { id: 'é€😀-1', raw: asLatin1('é€😀-1') }, 'decoded, while the raw header is latin1')
  t.strictSame(await get('😀'.repeat(256)), { id: '😀'.repeat(256), raw: asLatin1('😀'.repeat(256)) }, '1024 bytes on the wire are accepted')
  t.equal((await get('😀'.repeat(256) + 'a')).id, null, '1025 bytes on the wire are rejected')
})
