// @fastify/compress registered globally: SSE responses are not compressed, so events are
// never held back in a compressor's buffer. Why: compress decides by content type, and its
// default compressible types (`customTypes`) are /^text\/(?!event-stream)|.../ — every text/*
// type except text/event-stream — and mime-db has no entry for text/event-stream, so
// shouldCompress() is false for our content type. We rely on that rather than fighting it:
// a gzip stream would need a flush after every frame (and proxies may buffer it anyway).
import t from 'tap'
import http from 'node:http'
import { gunzipSync } from 'node:zlib'
import type { AddressInfo } from 'node:net'
import compress from '@fastify/compress'
import { createParser } from 'eventsource-parser'
import { build, until } from './helpers/build.js'

async function appWithCompress (t: Parameters<typeof build>[0]) {
  const app = await build(t, { heartbeatInterval: 0 })
  await app.register(compress, { global: true, threshold: 0 })
  app.get('/json', async () => ({ message: 'compress me '.repeat(20) }))
  return app
}

t.test('with @fastify/compress: events arrive one at a time, uncompressed, while JSON is gzipped', async (t) => {
  const app = await appWithCompress(t)
  let produced = 0
  let next = (): void => {}
  app.get('/events', (request, reply) => reply.sse(async function * () {
    for (let n = 1; n <= 3; n++) {
      produced = n
      yield { id: String(n), data: `event ${n}` }
      // The next event is produced only once the client has the previous one.
      await new Promise<void>((resolve) => { next = resolve })
    }
  }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get(`${base}/events`, { agent: false, headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip' } }, resolve)
      .once('error', reject)
  })
  let body = ''
  const events: string[] = []
  const parser = createParser({ onEvent: (event) => { events.push(event.data) } })
  response.setEncoding('utf8')
  response.on('data', (chunk: string) => { body += chunk; parser.feed(chunk) })
  const ended = new Promise((resolve) => response.once('end', resolve))

  t.equal(response.headers['content-encoding'], undefined, 'the stream is not compressed')
  t.equal(response.headers['content-type'], 'text/event-stream; charset=utf-8')
  let expected = ':\n\n'
  for (let n = 1; n <= 3; n++) {
    await until(() => events.length === n, `event ${n}`)
    t.equal(produced, n, `event ${n} arrived before event ${n + 1} was produced`)
    expected += `id: ${n}\ndata: event ${n}\n\n`
    t.equal(body, expected, `exactly the frames up to event ${n}`)
    next()
  }
  await ended

  const json = await new Promise<{ headers: http.IncomingHttpHeaders, body: Buffer }>((resolve, reject) => {
    http.get(`${base}/json`, { agent: false, headers: { 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.once('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }))
    }).once('error', reject)
  })
  t.equal(json.headers['content-encoding'], 'gzip', 'compress is active: the JSON route is gzipped')
  t.same(JSON.parse(gunzipSync(json.body).toString()), { message: 'compress me '.repeat(20) })
})

t.test('with @fastify/compress under inject: the stream is plain, JSON is compressed', async (t) => {
  const app = await appWithCompress(t)
  app.get('/events', (request, reply) => reply.sse(['a', 'b']))
  const stream = await app.inject({ url: '/events', headers: { 'accept-encoding': 'gzip, deflate, br' } })
  t.equal(stream.headers['content-encoding'], undefined)
  t.equal(stream.payload, ':\n\ndata: a\n\ndata: b\n\n')
  const json = await app.inject({ url: '/json', headers: { 'accept-encoding': 'gzip' } })
  t.equal(json.headers['content-encoding'], 'gzip')
  t.same(JSON.parse(gunzipSync(json.rawPayload).toString()), { message: 'compress me '.repeat(20) })
})
