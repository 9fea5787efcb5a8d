// Type tests for reply.sse(): checked by `npm run test:types` (tsc), never run.
import Fastify from 'fastify'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fastifySseHub from '../../lib/index.js'
import type { SseContext, SseInput, SseMessage, Subscription } from '../../lib/index.js'
import { type Equal, expectType, use } from './helpers.js'

const app = Fastify()
await app.register(fastifySseHub, { heartbeatInterval: 15_000 })

// -- Sources ------------------------------------------------------------------------------

app.get('/async-generator', (request, reply) => reply.sse((async function * () {
  yield 'text'
  yield { id: 1, event: 'tick', data: { now: Date.now() }, retry: 1000, comment: 'c' }
})()))

app.get('/array', (request, reply) => reply.sse(['a', { data: 1 }, { id: '', comment: 'hi' }]))
app.get('/set', (request, reply) => reply.sse(new Set<SseInput>(['a'])))
app.get('/sync-generator', (request, reply) => reply.sse((function * () { yield 'x' })()))

app.get('/function', (request, reply) => reply.sse(async function * ({ signal, lastEventId, request: req }) {
  expectType<Equal<typeof signal, AbortSignal>>(true)
  expectType<Equal<typeof lastEventId, string | undefined>>(true)
  expectType<Equal<typeof req, FastifyRequest>>(true)
  yield { data: lastEventId ?? 'none' }
}))
app.get('/function-array', (request, reply) => reply.sse((context) => {
  expectType<Equal<typeof context, SseContext>>(true)
  return ['x']
}))

app.get('/hub', (request, reply) => {
  const subscription = app.sseHub.subscribe('room:1', { lastEventId: request.lastEventId })
  expectType<Equal<typeof subscription, Subscription>>(true)
  return reply.sse(subscription)
})
app.get('/hub-abort', (request, reply) => reply.sse(({ signal, lastEventId }) => app.sseHub.subscribe('room:1', { lastEventId, signal })))

// -- Wrong sources ------------------------------------------------------------------------

app.get('/wrong', (request, reply) => {
  // @ts-expect-error a number is not a source
  reply.sse(42)
  // @ts-expect-error a string is not a source (it would be refused at run time)
  reply.sse('hello')
  // @ts-expect-error a plain object is not a source
  reply.sse({ data: 'x' })
  // @ts-expect-error a promise of a source is not a source
  reply.sse(Promise.resolve(['x']))
  // @ts-expect-error a source function must return an (async) iterable, not a number
  reply.sse(() => 42)
  // @ts-expect-error messages are strings or message objects
  reply.sse([42])
  // @ts-expect-error an id is a string or a number
  reply.sse([{ id: true }])
  // @ts-expect-error retry is a number
  reply.sse([{ retry: '1000' }])
  // @ts-expect-error event is a string
  reply.sse([{ event: 1 }])
  // @ts-expect-error comment is a string
  reply.sse([{ comment: null }])
  return reply.sse([])
})

// -- Return type: the reply, from sync and async handlers -------------------------------------

app.get('/sync-return', (request, reply) => {
  const returned = reply.sse(['x'])
  expectType<Equal<typeof returned, typeof reply>>(true)
  return returned
})
app.get('/async-return', async (request, reply) => {
  await Promise.resolve()
  return reply.sse(['x'])
})
app.get('/chain', (request, reply) => reply.code(201).header('x-a', '1').sse(['x']))

function plainReply (reply: FastifyReply): FastifyReply {
  const returned = reply.sse(['x'])
  expectType<Equal<typeof returned, FastifyReply>>(true)
  return returned
}
use(plainReply)

// -- Per-call options -------------------------------------------------------------------------

app.get('/options', (request, reply) => {
  reply.sse(['x'], { heartbeatInterval: 0, retry: 0, serialize: (data) => String(data) })
  // @ts-expect-error heartbeatInterval is a number
  reply.sse(['x'], { heartbeatInterval: '15s' })
  // @ts-expect-error serialize returns a string
  reply.sse(['x'], { serialize: (data: unknown) => data })
  // @ts-expect-error unknown per-call option
  reply.sse(['x'], { heartbeat: 0 })
  return reply
})

// -- Typed event maps -------------------------------------------------------------------------

interface Events {
  tick: { now: number }
  done: null
}

app.get('/typed', (request, reply) => reply.sse<Events>(async function * ({ signal }) {
  while (!signal.aborted) yield { event: 'tick', data: { now: Date.now() } }
  yield { event: 'done', data: null, id: 9 }
  yield { comment: 'bye' }
  yield 'plain data is still allowed'
}))
app.get('/typed-inline', (request, reply) => reply.sse<{ tick: { now: number } }>([{ event: 'tick', data: { now: 1 } }]))

app.get('/typed-wrong', (request, reply) => {
  // @ts-expect-error data of the wrong type for its event
  reply.sse<Events>([{ event: 'tick', data: { now: 'soon' } }])
  // @ts-expect-error an event name that is not in the map
  reply.sse<Events>([{ event: 'tock', data: { now: 1 } }])
  // @ts-expect-error an event of the map needs its data
  reply.sse<Events>([{ event: 'tick' }])
  // @ts-expect-error a typed stream names its events
  reply.sse<Events>([{ data: { now: 1 } }])
  // @ts-expect-error done carries null, not a tick payload
  reply.sse<Events>([{ event: 'done', data: { now: 1 } }])
  // @ts-expect-error the same checks apply to generators
  reply.sse<Events>(async function * () { yield { event: 'tick', data: { now: 'soon' } } })
  reply.sse<Events>([{ event: 'done', data: null }, { event: 'tick', data: { now: 1 }, id: 'x', retry: 1, comment: 'c' }])
  return reply.sse<Events>([])
})

// -- Messages: no any ---------------------------------------------------------------------

expectType<Equal<SseMessage['data'], unknown>>(true)
expectType<Equal<SseMessage<{ a: 1 }>['data'], { a: 1 } | undefined>>(true)
expectType<Equal<SseMessage['id'], string | number | undefined>>(true)
expectType<Equal<SseMessage['retry'], number | undefined>>(true)
expectType<Equal<SseInput, string | SseMessage>>(true)
expectType<Equal<SseContext, { signal: AbortSignal, lastEventId: string | undefined, request: FastifyRequest }>>(true)
