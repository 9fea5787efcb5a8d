// fastify-sse-hub, imported from the built package (run `npm run build` first), used the way
// its README shows: `reply.sse(generator)` for one stream, `app.sseHub.subscribe()` /
// `publish()` for fan-out, resume with Last-Event-ID. Heartbeats off like everyone else.
import Fastify from 'fastify'
import fastifySseHub, { MemoryReplayStore } from 'fastify-sse-hub'
import { REPLAY_EVENTS, params, payload, publishLoop, ready, stats } from './common.mjs'

const app = Fastify({ logger: false })
await app.register(fastifySseHub, {
  heartbeatInterval: 0,
  replayStore: new MemoryReplayStore({ maxEvents: REPLAY_EVENTS })
})

app.get('/stream', (request, reply) => {
  const { n, size } = params(request.url)
  return reply.sse(async function * () {
    for (let i = 0; i < n; i++) yield { data: payload(i, size) }
  }())
})

app.get('/sub/:channel', (request, reply) =>
  reply.sse(app.sseHub.subscribe(request.params.channel, { lastEventId: request.lastEventId })))

app.post('/pub/:channel', async (request) => {
  const { channel } = request.params
  const p = params(request.url)
  return publishLoop(p, async (i) => (await app.sseHub.publish(channel, { data: payload(i, p.size) })).id)
})

app.get('/stats', async (request) => {
  const hub = app.sseHub.stats()
  return { ...stats(request.url, hub.subscribers), hub }
})

await app.listen({ port: 0, host: '127.0.0.1' })
ready('ours', app.server.address().port)
