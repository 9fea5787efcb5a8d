// fastify-sse-v2, used the way its README shows: `reply.sse(asyncIterable)` for one stream,
// `reply.sse(event)` per connection for broadcast (a Set of replies), cleanup on socket close.
// It has no replay facility, so the resume scenario is n/a. `data` must be a string here,
// so a broadcast is JSON-serialized once and the same string is handed to every reply.
import Fastify from 'fastify'
import { FastifySSEPlugin } from 'fastify-sse-v2'
import { EPOCH, params, payload, publishLoop, ready, stats } from './common.mjs'

const app = Fastify({ logger: false })
await app.register(FastifySSEPlugin)

const channels = new Map() // name -> { replies: Set, seq }
let subscriberCount = 0

function channel (name) {
  let ch = channels.get(name)
  if (!ch) {
    ch = { replies: new Set(), seq: 0 }
    channels.set(name, ch)
  }
  return ch
}

app.get('/stream', (request, reply) => {
  const { n, size } = params(request.url)
  reply.sse((async function * () {
    for (let i = 0; i < n; i++) yield { data: JSON.stringify(payload(i, size)) }
  })())
})

app.get('/sub/:channel', (request, reply) => {
  const ch = channel(request.params.channel)
  reply.sse({ comment: 'ok' }) // opens the stream (headers + the default `retry:`)
  ch.replies.add(reply)
  subscriberCount++
  request.socket.on('close', () => {
    ch.replies.delete(reply)
    subscriberCount--
    reply.sseContext.source.end()
  })
})

app.post('/pub/:channel', async (request) => {
  const ch = channel(request.params.channel)
  const p = params(request.url)
  return publishLoop(p, (i) => {
    const id = `${EPOCH}-${++ch.seq}`
    const data = JSON.stringify(payload(i, p.size))
    for (const reply of ch.replies) reply.sse({ id, data })
    return id
  })
})

app.get('/stats', async (request) => stats(request.url, subscriberCount))

await app.listen({ port: 0, host: '127.0.0.1' })
ready('fastify-sse-v2', app.server.address().port)
