// Type tests for app.sseHub, request.lastEventId and the plugin options: checked by tsc, never run.
import Fastify from 'fastify'
import type { FastifyRequest } from 'fastify'
import fastifySseHub, { DEFAULTS, InProcessBackplane, MemoryReplayStore, errorCodes } from '../../lib/index.js'
import type {
  Backplane, ErrorCode, FastifySseHubOptions, HubEvent, HubStats, ReplayStore, SseHub, SseReplyOptions, Serializer, Subscription
} from '../../lib/index.js'
import { type Equal, type IsAny, expectType, use } from './helpers.js'

const app = Fastify()

// -- Options ------------------------------------------------------------------------------

await app.register(fastifySseHub)
await app.register(fastifySseHub, {})
await app.register(fastifySseHub, {
  heartbeatInterval: 15_000,
  retry: 3_000,
  serialize: JSON.stringify,
  maxBufferedBytes: 1 << 20,
  replayStore: new MemoryReplayStore({ maxEvents: 1_000, maxAgeMs: 60_000 }),
  backplane: new InProcessBackplane()
})
// @ts-expect-error heartbeatInterval is a number
await app.register(fastifySseHub, { heartbeatInterval: 'x' })
// @ts-expect-error retry is a number
await app.register(fastifySseHub, { retry: '3s' })
// @ts-expect-error serialize is a function returning a string
await app.register(fastifySseHub, { serialize: true })
// @ts-expect-error a replay store needs append() and readAfter()
await app.register(fastifySseHub, { replayStore: {} })
// @ts-expect-error a backplane needs its methods
await app.register(fastifySseHub, { backplane: { publish: async () => ({ id: '1', data: '' }) } })
// @ts-expect-error an unknown option
await app.register(fastifySseHub, { heartbeat: 1000 })
// @ts-expect-error MemoryReplayStore takes maxEvents as a number
use(new MemoryReplayStore({ maxEvents: '10' }))

expectType<Equal<FastifySseHubOptions, {
  heartbeatInterval?: number
  retry?: number
  serialize?: Serializer
  maxBufferedBytes?: number
  replayStore?: ReplayStore
  backplane?: Backplane
}>>(true)
expectType<Equal<SseReplyOptions, { heartbeatInterval?: number, retry?: number, serialize?: Serializer }>>(true)
expectType<Equal<Serializer, (data: unknown) => string>>(true)
expectType<typeof DEFAULTS.heartbeatInterval extends number ? true : false>(true)
expectType<Equal<IsAny<typeof DEFAULTS.heartbeatInterval>, false>>(true)
expectType<typeof DEFAULTS.maxBufferedBytes extends number ? true : false>(true)
expectType<Equal<typeof DEFAULTS.serialize, Serializer>>(true)
expectType<Equal<typeof DEFAULTS.retry, undefined>>(true)
// @ts-expect-error DEFAULTS is read-only
DEFAULTS.heartbeatInterval = 1

// -- request.lastEventId --------------------------------------------------------------------

app.get('/id', async (request) => {
  expectType<Equal<typeof request.lastEventId, string | undefined>>(true)
  // @ts-expect-error lastEventId is read-only
  request.lastEventId = 'x'
  return request.lastEventId ?? null
})
expectType<Equal<FastifyRequest['lastEventId'], string | undefined>>(true)

// -- app.sseHub ---------------------------------------------------------------------------

expectType<Equal<typeof app.sseHub, SseHub>>(true)
const published = app.sseHub.publish('room:1', { event: 'message', data: { text: 'hi' } })
expectType<Equal<typeof published, Promise<{ id: string }>>>(true)
use(published)
expectType<Equal<Awaited<ReturnType<SseHub['publish']>>, { id: string }>>(true)
await app.sseHub.publish('room:1', 'plain text')
await app.sseHub.publish<{ n: number }>('room:1', { data: { n: 1 } })
// @ts-expect-error the data type given is enforced
await app.sseHub.publish<{ n: number }>('room:1', { data: { n: '1' } })
// @ts-expect-error the store assigns the id: a message cannot bring one
await app.sseHub.publish('room:1', { id: '7', data: 'x' })
// @ts-expect-error retry is sent from reply.sse, not published
await app.sseHub.publish('room:1', { retry: 1000, data: 'x' })
// @ts-expect-error a channel is a string
await app.sseHub.publish(1, 'x')
// @ts-expect-error publish needs a message
await app.sseHub.publish('room:1')

const subscription = app.sseHub.subscribe('room:1', { lastEventId: undefined, signal: AbortSignal.timeout(1000) })
expectType<Equal<typeof subscription, Subscription>>(true)
app.sseHub.subscribe('room:1')
// @ts-expect-error lastEventId is a string
app.sseHub.subscribe('room:1', { lastEventId: 7 })
const next = await subscription[Symbol.asyncIterator]().next()
if (next.done !== true) {
  const event = next.value
  expectType<Equal<typeof event, HubEvent>>(true)
  expectType<Equal<typeof event.data, string>>(true)
  expectType<Equal<typeof event.id, string | undefined>>(true)
  use(event)
}

const stats = app.sseHub.stats()
expectType<Equal<typeof stats, HubStats>>(true)
use(stats)
expectType<Equal<HubStats, {
  channels: number
  subscribers: number
  bufferedBytes: number
  droppedClients: number
  publishedEvents: number
}>>(true)

// -- Errors and no any --------------------------------------------------------------------

expectType<Equal<ErrorCode, keyof typeof errorCodes>>(true)
const code: ErrorCode = 'FST_SSE_INVALID_OPTION'
use(code)
// @ts-expect-error not a code of this plugin
const wrongCode: ErrorCode = 'FST_ERR_VALIDATION'
use(wrongCode)
expectType<Equal<IsAny<typeof app.sseHub>, false>>(true)
expectType<Equal<IsAny<Parameters<typeof app.sseHub.subscribe>[1]>, false>>(true)
expectType<Equal<IsAny<ReturnType<ReplayStore['readAfter']>>, false>>(true)
expectType<Equal<IsAny<HubEvent['event']>, false>>(true)
