// @fastify/sse, used the way its README shows: `{ sse: true }` routes, `reply.sse.send()`
// of an async generator, `keepAlive()` + a Set of replies for broadcast, and `replay()` with a
// user-kept history (the README's findIndex pattern) for Last-Event-ID.
import Fastify from 'fastify'
import fastifySse from '@fastify/sse'
import { EPOCH, REPLAY_EVENTS, params, payload, publishLoop, ready, stats } from './common.mjs'

const app = Fastify({ logger: false })
await app.register(fastifySse, { heartbeatInterval: 0 })

const channels = new Map() // name -> { replies: Set, seq, history: [{ id, data }] }
let subscriberCount = 0

function channel (name) {
  let ch = channels.get(name)
  if (!ch) {
    ch = { replies: new Set(), seq: 0, history: [] }
    channels.set(name, ch)
  }
  return ch
}

async function * events (n, size) {
  for (let i = 0; i < n; i++) yield { data: payload(i, size) }
}

app.get('/stream', { sse: true }, async (request, reply) => {
  const { n, size } = params(request.url)
  await reply.sse.send(events(n, size))
})

app.get('/sub/:channel', { sse: true }, async (request, reply) => {
  const ch = channel(request.params.channel)
  reply.sse.keepAlive()
  reply.sse.sendHeaders()
  reply.raw.flushHeaders() // sendHeaders() only sets them; nothing is written until the first event
  await reply.sse.replay(async (lastEventId) => {
    const index = ch.history.findIndex((message) => message.id === lastEventId)
    const missed = index !== -1 ? ch.history.slice(index + 1) : ch.history
    for (const message of missed) await reply.sse.send(message)
  })
  ch.replies.add(reply)
  subscriberCount++
  reply.sse.onClose(() => {
    ch.replies.delete(reply)
    subscriberCount--
  })
})

const noop = () => {}

app.post('/pub/:channel', async (request) => {
  const ch = channel(request.params.channel)
  const p = params(request.url)
  return publishLoop(p, (i) => {
    const message = { id: `${EPOCH}-${++ch.seq}`, data: payload(i, p.size) }
    ch.history.push(message)
    if (ch.history.length > REPLAY_EVENTS) ch.history.shift()
    // Not awaited: awaiting each send would make every subscriber wait for the slowest.
    for (const reply of ch.replies) reply.sse.send(message).catch(noop)
    return message.id
  })
})

app.get('/stats', async (request) => stats(request.url, subscriberCount))

await app.listen({ port: 0, host: '127.0.0.1' })
ready('fastify-sse', app.server.address().port)
