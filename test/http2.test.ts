// HTTP/2 (plaintext h2c) with a real node:http2 client: headers, events, disconnects, shutdown.
import t from 'tap'
import http2 from 'node:http2'
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, IncomingHttpStatusHeader } from 'node:http2'
import type { AddressInfo } from 'node:net'
import type { FastifyServerOptions } from 'fastify'
import { parseEventStream } from '../lib/testing.js'
import type { ParsedEvent } from '../lib/testing.js'
import { build, until } from './helpers/build.js'
import type { Teardown } from './helpers/build.js'

async function buildH2 (t: Teardown, options: Parameters<typeof build>[1] = {}): Promise<Awaited<ReturnType<typeof build>>> {
  return await build(t, options, { http2: true } as unknown as FastifyServerOptions)
}

async function connect (t: Teardown, app: Awaited<ReturnType<typeof build>>): Promise<ClientHttp2Session> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const session = http2.connect(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
  session.on('error', () => {}) // the server going away is the point of some tests
  t.teardown(() => { session.destroy() })
  await new Promise((resolve, reject) => session.once('connect', resolve).once('error', reject))
  return session
}

interface H2Stream {
  readonly request: ClientHttp2Stream
  readonly headers: IncomingHttpHeaders & IncomingHttpStatusHeader
  /** Everything received so far. */
  readonly body: string
  readonly events: ParsedEvent[]
  readonly ended: Promise<void>
}

async function open (session: ClientHttp2Session, path: string): Promise<H2Stream> {
  const request = session.request({ ':path': path, accept: 'text/event-stream' })
  request.on('error', () => {})
  let body = ''
  request.setEncoding('utf8')
  request.on('data', (chunk: string) => { body += chunk })
  const ended = new Promise<void>((resolve) => request.once('close', resolve))
  const headers = await new Promise<IncomingHttpHeaders & IncomingHttpStatusHeader>((resolve) => request.once('response', resolve))
  return {
    request,
    headers,
    get body () { return body },
    // The body is read whole so far; events are only the frames completed by a blank line.
    get events () { return parseEventStream(body) },
    ended
  }
}

t.test('HTTP/2: exact SSE headers (no connection header, no content-length) and exact frames', async (t) => {
  const app = await buildH2(t, { retry: 1000 })
  const warnings: Error[] = []
  const onWarning = (warning: Error): void => { warnings.push(warning) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  app.get('/h2', (request, reply) => reply.sse(async function * () {
    yield { id: '1', event: 'hello', data: { protocol: request.raw.httpVersion } }
    yield 'multi\nline'
  }))
  const session = await connect(t, app)
  const stream = await open(session, '/h2')
  const { date, ...headers } = stream.headers
  t.ok(date)
  t.same(Object.fromEntries(Object.entries(headers)), {
    ':status': 200,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no'
  })
  await stream.ended
  t.equal(stream.body, 'retry: 1000\n\nevent: hello\nid: 1\ndata: {"protocol":"2.0"}\n\ndata: multi\ndata: line\n\n')
  t.same(warnings, [], 'no UnsupportedWarning about connection-specific headers')
  t.same(app.logs.filter((line) => line.level >= 40), [])
})

t.test('HTTP/2: events of an endless stream arrive as they are produced; closing the client stream runs the finally', async (t) => {
  const app = await buildH2(t)
  let step = 0
  let wake = (): void => {}
  const seen: { finally?: boolean, aborted?: boolean } = {}
  app.get('/live', (request, reply) => reply.sse(async function * ({ signal }) {
    try {
      while (true) {
        await new Promise<void>((resolve) => { wake = resolve; signal.addEventListener('abort', () => resolve(), { once: true }) })
        if (signal.aborted) return
        yield { id: String(++step), data: `step ${step}` }
      }
    } finally {
      seen.finally = true
      seen.aborted = signal.aborted
    }
  }))
  const session = await connect(t, app)
  const stream = await open(session, '/live')
  for (let n = 1; n <= 3; n++) {
    wake()
    await until(() => stream.events.length === n, `event ${n}`)
  }
  t.same(stream.events, [{ id: '1', data: 'step 1' }, { id: '2', data: 'step 2' }, { id: '3', data: 'step 3' }])
  t.equal(stream.body, ':\n\nid: 1\ndata: step 1\n\nid: 2\ndata: step 2\n\nid: 3\ndata: step 3\n\n')
  stream.request.close(http2.constants.NGHTTP2_CANCEL)
  await until(() => seen.finally === true, 'the finally block')
  t.same(seen, { finally: true, aborted: true })
  t.equal(app.logs.find((line) => line.msg === 'fastify-sse-hub: stream closed')?.reason, 'client')
  t.notOk(session.closed, 'the session itself stays open for other streams')
})

t.test('HTTP/2: app.close() with open streams on two sessions completes promptly and ends every stream', async (t) => {
  const app = await buildH2(t)
  let finished = 0
  app.get('/open', (request, reply) => reply.sse(async function * ({ signal }) {
    try {
      yield 'open'
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    } finally {
      finished++
    }
  }))
  const first = await connect(t, app)
  const second = http2.connect(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
  second.on('error', () => {})
  t.teardown(() => { second.destroy() })
  const sessionsClosed = Promise.all([first, second].map(async (session) => await new Promise((resolve) => session.once('close', resolve))))
  const streams = await Promise.all([
    ...Array.from({ length: 10 }, () => open(first, '/open')),
    ...Array.from({ length: 10 }, () => open(second, '/open'))
  ])
  await until(() => streams.every((stream) => stream.events.length === 1), 'the first event on all 20 streams')
  const start = performance.now()
  const closing = app.close()
  const hang = new Promise((resolve) => setTimeout(resolve, 3_000, 'hang').unref())
  t.equal(await Promise.race([closing.then(() => 'closed'), hang]), 'closed', 'close() resolved')
  t.comment(`app.close() with 20 open HTTP/2 streams on 2 sessions took ${(performance.now() - start).toFixed(1)} ms`)
  t.equal(finished, 20, 'every source was ended')
  await Promise.all(streams.map((stream) => stream.ended))
  t.same(streams.map((stream) => stream.body), streams.map(() => ':\n\ndata: open\n\n'), 'each stream ended cleanly after its events')
  t.ok(streams.every((stream) => stream.request.rstCode === http2.constants.NGHTTP2_NO_ERROR), 'ended, not reset')
  await sessionsClosed // the server sent GOAWAY and closed both sessions
})
