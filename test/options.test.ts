import t from 'tap'
import { readFile } from 'node:fs/promises'
import Fastify from 'fastify'
import fastifySseHub, { InProcessBackplane, MemoryReplayStore } from '../lib/index.js'
import type { Backplane, ReplayStore } from '../lib/index.js'
import { DEFAULTS, resolveOptions } from '../lib/options.js'
import type { FastifySseHubOptions } from '../lib/options.js'
import { build } from './helpers/build.js'

const KNOWN = 'Known options are heartbeatInterval, retry, serialize, maxBufferedBytes, replayStore, backplane.'

/** Registers the plugin on a fresh app; resolves once ready, rejects with the registration error. */
async function register (options: unknown): Promise<void> {
  const app = Fastify()
  try {
    await app.register(fastifySseHub, options as FastifySseHubOptions)
    await app.ready()
  } finally {
    await app.close().catch(() => {})
  }
}

const store = (): ReplayStore => ({
  append: async (channel, event) => ({ id: '1', ...event }),
  readAfter: async () => ({ gap: false, events: [] })
})

function backplaneWithout (method: keyof Backplane): unknown {
  const backplane: Record<string, unknown> = {
    start: async () => {},
    publish: async () => ({ id: '1', data: '' }),
    subscribe: async () => {},
    unsubscribe: async () => {},
    close: async () => {}
  }
  delete backplane[method]
  return backplane
}

interface Bad { options: unknown, message: string }

const bad: Record<string, Bad[]> = {
  'an unknown option': [
    { options: { heartbeat: 1000 }, message: `fastify-sse-hub: option heartbeat is invalid (got 1000). ${KNOWN}` },
    { options: { maxEvents: 10 }, message: `fastify-sse-hub: option maxEvents is invalid (got 10). ${KNOWN}` }
  ],
  'options that are not an object': [
    { options: 'fast', message: 'fastify-sse-hub: option options is invalid (got "fast"). Pass an object.' },
    { options: 42, message: 'fastify-sse-hub: option options is invalid (got 42). Pass an object.' }
  ],
  heartbeatInterval: [-1, 1.5, NaN, 2 ** 31, '1000'].map((value) => ({
    options: { heartbeatInterval: value },
    message: `fastify-sse-hub: option heartbeatInterval is invalid (got ${typeof value === 'string' ? '"1000"' : String(value)}). Pass a whole number of milliseconds, or 0 to turn heartbeats off.`
  })),
  retry: [-1, 0.5, Infinity, null].map((value) => ({
    options: { retry: value },
    message: `fastify-sse-hub: option retry is invalid (got ${String(value)}). Pass a non-negative whole number of milliseconds.`
  })),
  serialize: [
    { options: { serialize: 'JSON' }, message: 'fastify-sse-hub: option serialize is invalid (got "JSON"). Pass a function returning a string.' },
    { options: { serialize: null }, message: 'fastify-sse-hub: option serialize is invalid (got null). Pass a function returning a string.' }
  ],
  maxBufferedBytes: [0, -1, 1.5, '1mb'].map((value) => ({
    options: { maxBufferedBytes: value },
    message: `fastify-sse-hub: option maxBufferedBytes is invalid (got ${typeof value === 'string' ? '"1mb"' : String(value)}). Pass a positive whole number of bytes.`
  })),
  replayStore: [
    [{}, 'an object'], [{ append: async () => {} }, 'an object'], [{ readAfter: async () => {} }, 'an object'], [null, 'null'], ['redis', '"redis"']
  ].map(([value, shown]) => ({
    options: { replayStore: value },
    message: `fastify-sse-hub: option replayStore is invalid (got ${String(shown)}). Pass a ReplayStore (an object with append() and readAfter()).`
  })),
  backplane: [
    ...(['start', 'publish', 'subscribe', 'unsubscribe', 'close'] as const).map((method) => [backplaneWithout(method), 'an object']),
    [null, 'null'], [() => {}, 'a function']
  ].map(([value, shown]) => ({
    options: { backplane: value },
    message: `fastify-sse-hub: option backplane is invalid (got ${String(shown)}). Pass a Backplane (an object with start(), publish(), subscribe(), unsubscribe() and close()).`
  }))
}

for (const [what, cases] of Object.entries(bad)) {
  t.test(`registration fails with FST_SSE_INVALID_OPTION for ${what}`, async (t) => {
    for (const { options, message } of cases) {
      await t.rejects(register(options), { code: 'FST_SSE_INVALID_OPTION', statusCode: 500, message }, message)
    }
  })
}

t.test('registration accepts the edges of every valid range', async (t) => {
  const good: FastifySseHubOptions[] = [
    {},
    { heartbeatInterval: 0 },
    { heartbeatInterval: 2 ** 31 - 1 },
    { retry: 0 },
    { retry: Number.MAX_SAFE_INTEGER },
    { serialize: (data) => String(data) },
    { maxBufferedBytes: 1 },
    { replayStore: store() },
    { replayStore: new MemoryReplayStore({ maxEvents: 1 }) },
    { backplane: new InProcessBackplane() },
    { heartbeatInterval: undefined, retry: undefined, serialize: undefined, maxBufferedBytes: undefined, replayStore: undefined, backplane: undefined }
  ]
  for (const options of good) await t.resolves(register(options), JSON.stringify(options) ?? '')
})

t.test("registration accepts Fastify's own register options", async (t) => {
  await t.resolves(register({ logLevel: 'warn' }))
  await t.resolves(register({ prefix: '/sse' }))
  await t.resolves(register({ logSerializers: {} }))
  await t.resolves(register(null), 'Fastify turns null options into {}')
})

t.test('resolveOptions refuses options that are not an object', async (t) => {
  t.throws(() => resolveOptions(null as unknown as FastifySseHubOptions), {
    code: 'FST_SSE_INVALID_OPTION',
    message: 'fastify-sse-hub: option options is invalid (got null). Pass an object.'
  })
})

t.test('DEFAULTS is frozen and is what registration resolves', async (t) => {
  t.ok(Object.isFrozen(DEFAULTS))
  t.strictSame({ ...DEFAULTS }, {
    heartbeatInterval: 15_000,
    retry: undefined,
    serialize: JSON.stringify,
    maxBufferedBytes: 1_048_576,
    maxEvents: 1_000
  })
  t.strictSame(resolveOptions({}), {
    heartbeatInterval: DEFAULTS.heartbeatInterval,
    retry: DEFAULTS.retry,
    serialize: DEFAULTS.serialize,
    maxBufferedBytes: DEFAULTS.maxBufferedBytes
  })
  const serialize = (): string => 's'
  t.strictSame(resolveOptions({ heartbeatInterval: 0, retry: 0, serialize, maxBufferedBytes: 1 }), {
    heartbeatInterval: 0, retry: 0, serialize, maxBufferedBytes: 1
  }, 'falsy values are kept, not replaced by defaults')
  t.equal(new MemoryReplayStore().maxEvents, DEFAULTS.maxEvents, 'the default store keeps DEFAULTS.maxEvents')

  const app = await build(t)
  t.type(app.sseHub.store, MemoryReplayStore)
  t.equal((app.sseHub.store as MemoryReplayStore).maxEvents, DEFAULTS.maxEvents)
  t.type(app.sseHub.backplane, InProcessBackplane)
  t.equal(app.sseHub.maxBufferedBytes, DEFAULTS.maxBufferedBytes)
  app.get('/s', (request, reply) => reply.sse([{ data: { a: 1 } }]))
  t.equal((await app.inject('/s')).payload, ':\n\ndata: {"a":1}\n\n', 'no retry line, data through JSON.stringify')
})

t.test('registration options reach the hub and the streams', async (t) => {
  const replayStore = store()
  const backplane = new InProcessBackplane()
  const app = await build(t, { retry: 2500, serialize: (data) => `<${JSON.stringify(data)}>`, maxBufferedBytes: 4096, replayStore, backplane })
  t.equal(app.sseHub.store, replayStore)
  t.equal(app.sseHub.backplane, backplane)
  t.equal(app.sseHub.maxBufferedBytes, 4096)
  app.get('/s', (request, reply) => reply.sse([{ data: [1] }]))
  t.equal((await app.inject('/s')).payload, 'retry: 2500\n\ndata: <[1]>\n\n')
})

t.test('every @default in the JSDoc of lib/options.ts matches DEFAULTS', async (t) => {
  const source = await readFile(new URL('../lib/options.ts', import.meta.url), 'utf8')
  const body = /export interface FastifySseHubOptions \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? ''
  const documented: Record<string, string> = {}
  for (const [, text, name] of body.matchAll(/@default (.+)\n\s*\*\/\n\s*(\w+)\?:/g)) documented[name as string] = text as string
  const options = [...body.matchAll(/^ {2}(\w+)\?:/gm)].map(([, name]) => name)
  t.strictSame(Object.keys(documented), options, 'every option has a @default')
  t.strictSame(options, ['heartbeatInterval', 'retry', 'serialize', 'maxBufferedBytes', 'replayStore', 'backplane'])

  t.equal(documented.heartbeatInterval, String(DEFAULTS.heartbeatInterval))
  t.equal(documented.retry, String(DEFAULTS.retry))
  t.equal(documented.maxBufferedBytes, String(DEFAULTS.maxBufferedBytes))
  t.equal(documented.serialize, 'JSON.stringify')
  t.equal(DEFAULTS.serialize, JSON.stringify)
  t.equal(documented.replayStore, `new MemoryReplayStore({ maxEvents: ${DEFAULTS.maxEvents} })`)
  t.equal(documented.backplane, 'new InProcessBackplane()')

  const memory = await readFile(new URL('../lib/replay/memory-store.ts', import.meta.url), 'utf8')
  t.match(memory, new RegExp(`@default ${DEFAULTS.maxEvents}\\n\\s*\\*/\\n\\s*maxEvents\\?:`), 'MemoryReplayStoreOptions.maxEvents documents the same default')
})

t.test('reply.sse() refuses bad per-call options: the route answers 500 with FST_SSE_INVALID_OPTION, no stream', async (t) => {
  const app = await build(t)
  const cases: Array<[unknown, string]> = [
    [{ heartbeatInterval: -1 }, 'option reply.sse options.heartbeatInterval is invalid (got -1). Pass a whole number of milliseconds, or 0 to turn heartbeats off.'],
    [{ heartbeatInterval: 2 ** 31 }, 'option reply.sse options.heartbeatInterval is invalid (got 2147483648). Pass a whole number of milliseconds, or 0 to turn heartbeats off.'],
    [{ retry: 1.5 }, 'option reply.sse options.retry is invalid (got 1.5). Pass a non-negative whole number of milliseconds.'],
    [{ serialize: 'yaml' }, 'option reply.sse options.serialize is invalid (got "yaml"). Pass a function returning a string.'],
    [{ heartbeat: 0 }, 'option reply.sse options.heartbeat is invalid (got 0). Known options are heartbeatInterval, retry, serialize.'],
    [{ maxBufferedBytes: 10 }, 'option reply.sse options.maxBufferedBytes is invalid (got 10). Known options are heartbeatInterval, retry, serialize.'],
    [null, 'option reply.sse options is invalid (got null). Pass an object.'],
    ['fast', 'option reply.sse options is invalid (got "fast"). Pass an object.']
  ]
  let sourceStarted = 0
  cases.forEach(([options], i) => {
    app.get(`/bad/${i}`, (request, reply) => reply.sse(function * () { sourceStarted++; yield 'x' }, options as never))
  })
  app.get('/async-bad', async (request, reply) => reply.sse(['x'], { retry: -1 }))
  for (const [i, [, message]] of cases.entries()) {
    const res = await app.inject(`/bad/${i}`)
    t.equal(res.statusCode, 500)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8', 'no event stream was started')
    t.strictSame(res.json(), { statusCode: 500, code: 'FST_SSE_INVALID_OPTION', error: 'Internal Server Error', message: `fastify-sse-hub: ${message}` })
  }
  const res = await app.inject('/async-bad')
  t.equal(res.statusCode, 500)
  t.equal(res.json<{ code: string }>().code, 'FST_SSE_INVALID_OPTION', 'from an async handler too')
  t.equal(sourceStarted, 0, 'the source never ran')
})

t.test('reply.sse() per-call options override the plugin options for that stream only', async (t) => {
  const app = await build(t, { retry: 100 })
  app.get('/own', (request, reply) => reply.sse([{ data: 1 }], { retry: 0, serialize: (d) => `#${String(d)}`, heartbeatInterval: 0 }))
  app.get('/plugin', (request, reply) => reply.sse([{ data: 1 }], {}))
  t.equal((await app.inject('/own')).payload, 'retry: 0\n\ndata: #1\n\n')
  t.equal((await app.inject('/plugin')).payload, 'retry: 100\n\ndata: 1\n\n')
})
