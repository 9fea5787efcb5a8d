// @fastify/cors: the stream response keeps the cross-origin headers the plugin sets in its
// hook, and preflights for the stream's route work. Under inject and over a real socket.
import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import cors from '@fastify/cors'
import { build } from './helpers/build.js'
import { openSse } from './helpers/sse-client.js'

const ORIGIN = 'http://example.test'

async function appWithCors (t: Parameters<typeof build>[0]) {
  const app = await build(t)
  await app.register(cors, { origin: ORIGIN, credentials: true })
  app.get('/events', (request, reply) => reply.sse([{ id: '1', data: 'cross-origin' }]))
  return app
}

t.test('CORS under inject: the stream carries the allow-origin and credentials headers; preflight answers', async (t) => {
  const app = await appWithCors(t)
  const res = await app.inject({ url: '/events', headers: { origin: ORIGIN, accept: 'text/event-stream' } })
  t.equal(res.statusCode, 200)
  const { date, ...headers } = res.headers
  t.ok(date)
  t.same(headers, {
    'access-control-allow-origin': ORIGIN,
    'access-control-allow-credentials': 'true',
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
    'transfer-encoding': 'chunked'
  })
  t.equal(res.payload, ':\n\nid: 1\ndata: cross-origin\n\n')

  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/events',
    headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'last-event-id' }
  })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], ORIGIN)
  t.equal(preflight.headers['access-control-allow-credentials'], 'true')
  t.equal(preflight.headers['access-control-allow-methods'], 'GET,HEAD,POST')
  t.equal(preflight.headers['access-control-allow-headers'], 'last-event-id')
})

t.test('CORS over a real socket: the stream response and the preflight carry the headers', async (t) => {
  const app = await appWithCors(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const client = await openSse(`${base}/events`, { headers: { origin: ORIGIN } })
  t.equal(client.response.headers['access-control-allow-origin'], ORIGIN)
  t.equal(client.response.headers['access-control-allow-credentials'], 'true')
  t.equal(client.response.headers['content-type'], 'text/event-stream; charset=utf-8')
  await client.end()
  t.same(client.events, [{ id: '1', data: 'cross-origin' }])

  const preflight = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.request(`${base}/events`, {
      method: 'OPTIONS',
      agent: false,
      headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'last-event-id' }
    }, resolve).once('error', reject).end()
  })
  preflight.resume()
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], ORIGIN)
  t.equal(preflight.headers['access-control-allow-headers'], 'last-event-id')
})
