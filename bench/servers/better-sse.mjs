// better-sse, used the way its README shows: `createSession(req, res)` on the raw objects
// (Fastify's reply is hijacked first), `session.iterate()` for one stream, a `Channel` per
// name with `channel.broadcast()` for fan-out (given the same `<epoch>-<seq>` ids as the
// others). Keep-alive pings are off. It keeps no history, so the resume scenario is n/a.
import Fastify from 'fastify'
import { createChannel, createSession } from 'better-sse'
import { EPOCH, params, payload, publishLoop, ready, stats } from './common.mjs'

const app = Fastify({ logger: false })
const options = { keepAlive: null }

const channels = new Map() // name -> { channel, seq }

function channel (name) {
  let ch = channels.get(name)
  if (!ch) {
    ch = { channel: createChannel(), seq: 0 }
    channels.set(name, ch)
  }
  return ch
}

app.get('/stream', async (request, reply) => {
  const { n, size } = params(request.url)
  reply.hijack()
  const session = await createSession(request.raw, reply.raw, options)
  await session.iterate((async function * () {
    for (let i = 0; i < n; i++) yield payload(i, size)
  })())
  reply.raw.end()
})

app.get('/sub/:channel', async (request, reply) => {
  reply.hijack()
  const session = await createSession(request.raw, reply.raw, options)
  channel(request.params.channel).channel.register(session)
})

app.post('/pub/:channel', async (request) => {
  const ch = channel(request.params.channel)
  const p = params(request.url)
  return publishLoop(p, (i) => {
    const eventId = `${EPOCH}-${++ch.seq}`
    ch.channel.broadcast(payload(i, p.size), 'message', { eventId })
    return eventId
  })
})

app.get('/stats', async (request) => {
  let subscribers = 0
  for (const ch of channels.values()) subscribers += ch.channel.sessionCount
  return stats(request.url, subscribers)
})

await app.listen({ port: 0, host: '127.0.0.1' })
ready('better-sse', app.server.address().port)
