// The frames a stream is sent in one tick leave as one write (one HTTP chunk, one syscall),
// and a burst that never lets the tick end is written as it goes, in pieces of about 16 KiB.
import t from 'tap'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { build, until } from './helpers/build.js'

type App = Awaited<ReturnType<typeof build>>

/** A raw HTTP/1.1 client that keeps the body's chunks as they were framed on the wire. */
async function chunkedClient (app: App, path: string) {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const socket = net.connect((app.server.address() as AddressInfo).port, '127.0.0.1')
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`)
  let raw = Buffer.alloc(0)
  socket.on('data', (data: Buffer) => { raw = Buffer.concat([raw, data]) })
  /** The complete chunks received so far, as text. */
  const chunks = (): string[] => {
    const out: string[] = []
    let at = raw.indexOf('\r\n\r\n') + 4
    while (at > 3) {
      const eol = raw.indexOf('\r\n', at)
      if (eol === -1) break
      const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16)
      if (!(size > 0) || raw.length < eol + 2 + size + 2) break
      out.push(raw.subarray(eol + 2, eol + 2 + size).toString('utf8'))
      at = eol + 2 + size + 2
    }
    return out
  }
  return { socket, chunks }
}

/** A hub subscriber over a raw socket that has its opening chunk and a first event, each in a chunk of its own. */
async function liveRoom (t: Parameters<typeof build>[0]) {
  const app = await build(t, { heartbeatInterval: 0 })
  app.get('/room', (request, reply) => reply.sse(app.sseHub.subscribe('room')))
  const { socket, chunks } = await chunkedClient(app, '/room')
  t.teardown(() => socket.destroy())
  await until(() => chunks().length === 1 && app.sseHub.stats().subscribers === 1, 'the opening chunk')
  const first = await app.sseHub.publish('room', 'first')
  await until(() => chunks().length === 2, 'the first event')
  return { app, chunks, first }
}

t.test('frames sent in one tick go out as one chunk, in order', async (t) => {
  const { app, chunks, first } = await liveRoom(t)
  // Fifty publishes in flight at once: every delivery happens before the tick ends.
  const ids = (await Promise.all(Array.from({ length: 50 }, (_, i) => app.sseHub.publish('room', `burst ${i}`)))).map(({ id }) => id)
  await until(() => chunks().join('').includes(`id: ${ids[49]}\n`), 'the burst')
  t.same(chunks(), [
    ':\n\n',
    `id: ${first.id}\ndata: first\n\n`,
    ids.map((id, i) => `id: ${id}\ndata: burst ${i}\n\n`).join('')
  ], 'the opening, the first event, then the whole burst in one chunk')
})

t.test('a burst that never lets the tick end is written as it goes, in pieces of about 16 KiB', async (t) => {
  const app = await build(t, { heartbeatInterval: 0 })
  const frame = (i: number): string => `data: ${String(i).padStart(4, '0')} ${'x'.repeat(1000)}\n\n`
  app.get('/burst', (request, reply) => reply.sse(function * () {
    for (let i = 0; i < 100; i++) yield `${String(i).padStart(4, '0')} ${'x'.repeat(1000)}` // a sync source: no tick between frames
  }()))
  const { socket, chunks } = await chunkedClient(app, '/burst')
  t.teardown(() => socket.destroy())
  const all = ':\n\n' + Array.from({ length: 100 }, (_, i) => frame(i)).join('')
  await until(() => chunks().join('').length === all.length, 'every frame')
  t.equal(chunks().join(''), all, 'every frame whole, in order')
  const pieces = chunks()
  t.ok(pieces.length > 1, `${pieces.length} writes`)
  for (const piece of pieces.slice(0, -1)) {
    t.ok(piece.length >= 16 * 1024 && piece.length < 16 * 1024 + frame(0).length, `a piece of ${piece.length} bytes: 16 KiB and less than one frame more`)
  }
})

t.test('big frames sent in one tick are written one by one: the broadcast bytes are shared, not copied per subscriber', async (t) => {
  const { app, chunks, first } = await liveRoom(t)
  const big = (i: number): string => `${i} ${'b'.repeat(8 * 1024)}`
  const ids = (await Promise.all([0, 1, 2].map((i) => app.sseHub.publish('room', big(i))))).map(({ id }) => id)
  await until(() => chunks().length === 5, 'the three big events')
  t.same(chunks(), [
    ':\n\n',
    `id: ${first.id}\ndata: first\n\n`,
    ...ids.map((id, i) => `id: ${id}\ndata: ${big(i)}\n\n`)
  ], 'one chunk per big frame, in order')
})
