// The WHATWG client (the `eventsource` package, which follows the browser's EventSource
// processing model) over a real socket: what a browser would see, including reconnects.
import t from 'tap'
import { EventSource } from 'eventsource'
import type { AddressInfo } from 'node:net'
import { build, until } from './helpers/build.js'

interface Received {
  type: string
  data: string
  lastEventId: string
}

t.test('a real EventSource receives a finite stream exactly, reconnects with Last-Event-ID, and stops on 204', async (t) => {
  const app = await build(t, { retry: 10 })
  /** request.lastEventId of every request the client made, in order. */
  const requests: Array<string | undefined> = []
  let sourceState: 'not started' | 'waiting' | 'released' = 'not started'
  let release = (): void => {}
  const released = new Promise<void>((resolve) => { release = resolve })

  app.get('/feed', (request, reply) => {
    const n = requests.push(request.lastEventId)
    if (n === 1) {
      return reply.sse(async function * () {
        sourceState = 'waiting'
        await released // the first event is produced only once the client has seen onopen
        sourceState = 'released'
        yield { id: '1', data: 'plain' }
        yield { id: '2', event: 'greeting', data: 'hello\nworld\r\n!' }
        yield { data: 'a\rb' } // a lone CR is a line break too: two data lines
        yield { event: 'greeting', data: 'unicode: ✓ 日本語 🎉 ü' }
        yield { comment: 'not an event' }
        yield { id: '3', event: 'last', data: '' }
      })
    }
    // The reconnect after the stream ended: an id of '' resets the client's last event id.
    if (n === 2) return reply.sse([{ id: '', data: 'forget the id' }])
    // The client comes back without an id; 204 tells it to stop for good.
    return reply.code(204).send()
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/feed`

  const es = new EventSource(url)
  t.teardown(() => es.close())
  const received: Received[] = []
  const record = (event: MessageEvent): void => {
    received.push({ type: event.type, data: event.data as string, lastEventId: event.lastEventId })
  }
  es.addEventListener('message', record)
  es.addEventListener('greeting', record)
  es.addEventListener('last', record)
  const opens: string[] = []
  es.onopen = () => {
    opens.push(sourceState)
    release()
  }
  const errors: Array<{ code: number | undefined, message: string | undefined }> = []
  es.onerror = (event) => { errors.push({ code: event.code, message: event.message }) }

  await until(() => es.readyState === EventSource.CLOSED, 'the client to stop after the 204')
  t.same(opens, ['waiting', 'released'],
    'onopen fired while the first source was still waiting to produce its first event (and once more on the reconnect)')
  t.same(received.map(({ type, data }) => ({ type, data })), [
    { type: 'message', data: 'plain' },
    { type: 'greeting', data: 'hello\nworld\n!' },
    { type: 'message', data: 'a\nb' },
    { type: 'greeting', data: 'unicode: ✓ 日本語 🎉 ü' },
    { type: 'last', data: '' },
    { type: 'message', data: 'forget the id' }
  ])
  // The events that carry an id. (For the others eventsource@4 reports lastEventId '' where the
  // spec would repeat the previous id; what the client keeps is what matters, and the reconnect
  // below shows it kept '3' across them.)
  t.same([0, 1, 4, 5].map((i) => received[i]?.lastEventId), ['1', '2', '3', ''])
  t.same(requests, [undefined, '3', undefined],
    'reconnected by itself with Last-Event-ID: 3, then (after id: \'\') with no Last-Event-ID')
  t.same(errors.slice(-1), [{ code: 204, message: 'Server sent HTTP 204, not reconnecting' }])
  t.equal(errors.length, 3, 'one error event per reconnect, and the final one for the 204')
})

t.test('a real EventSource sees onopen at once even when the first event never comes', async (t) => {
  const app = await build(t, { heartbeatInterval: 0 })
  let started = false
  app.get('/silent', (request, reply) => reply.sse(async function * ({ signal }) {
    started = true
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    yield 'never'
  }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const es = new EventSource(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/silent`)
  t.teardown(() => es.close())
  const opened = await new Promise<number>((resolve) => { es.onopen = () => { resolve(es.readyState) } })
  t.equal(opened, EventSource.OPEN)
  t.ok(started)
})
