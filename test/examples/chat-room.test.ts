import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build } from '../../examples/chat-room.js'
import { injectEventStream } from '../../lib/testing.js'
import { until } from '../helpers/build.js'

const time = '2026-01-02T03:04:05.000Z'
const now = (): Date => new Date(time)

async function post (app: FastifyInstance, name: string, text: string): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/messages', payload: { name, text } })
  if (response.statusCode !== 201) throw new Error(`POST /messages: ${response.statusCode} ${response.body}`)
  return (response.json() as { id: string }).id
}

function message (id: string, name: string, text: string) {
  return { id, event: 'message', data: JSON.stringify({ name, text, time }) }
}

t.test('serves its page', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  const response = await app.inject('/')
  t.equal(response.statusCode, 200)
  t.match(response.body, /<title>Chat room · fastify-sse-hub<\/title>/)
  t.notMatch(response.body, /innerHTML/, 'the page never inserts server data as HTML')
})

t.test('broadcasts each posted message to every open page, with the id the store gave it', async (t) => {
  const app = await build({ now })
  t.teardown(() => app.close())
  const a = await injectEventStream(app, '/events')
  const b = await injectEventStream(app, '/events')
  await until(() => app.sseHub.stats().subscribers === 2, 'two subscribers')
  const first = await post(app, 'ada', 'hello')
  const second = await post(app, 'grace', '<b>not bold</b>')
  const expected = [message(first, 'ada', 'hello'), message(second, 'grace', '<b>not bold</b>')]
  t.strictSame(await a.take(2), expected)
  t.strictSame(await b.take(2), expected)
  await a.close()
  await b.close()
  t.equal(app.sseHub.stats().subscribers, 0, 'the hub forgot both pages')
})

t.test('a page that reconnects with Last-Event-ID gets exactly the messages it missed, then live ones', async (t) => {
  const app = await build({ now })
  t.teardown(() => app.close())
  const seen = await post(app, 'ada', 'one')
  const missed = [await post(app, 'ada', 'two'), await post(app, 'grace', 'three')]
  const page = await injectEventStream(app, { url: '/events', headers: { 'last-event-id': seen } })
  t.strictSame(await page.take(2), [message(missed[0] as string, 'ada', 'two'), message(missed[1] as string, 'grace', 'three')])
  await until(() => app.sseHub.stats().subscribers === 1, 'the page is live')
  const live = await post(app, 'ada', 'four')
  t.strictSame(await page.take(1), [message(live, 'ada', 'four')])
  await page.close()
})

t.test('a page with an id the room no longer knows gets a reset event first', async (t) => {
  const app = await build({ now })
  t.teardown(() => app.close())
  const page = await injectEventStream(app, { url: '/events', headers: { 'last-event-id': 'from-before-a-restart' } })
  t.strictSame(await page.take(1), [{ event: 'reset', data: JSON.stringify({ reason: 'malformed', lastEventId: 'from-before-a-restart' }) }])
  await until(() => app.sseHub.stats().subscribers === 1, 'the page is live')
  const live = await post(app, 'ada', 'after the reset')
  t.strictSame(await page.take(1), [message(live, 'ada', 'after the reset')])
  await page.close()
})

t.test('refuses a message without a name, empty or too long, and publishes nothing', async (t) => {
  const app = await build({ now })
  t.teardown(() => app.close())
  for (const payload of [{ text: 'hi' }, { name: 'ada', text: '' }, { name: 'x'.repeat(41), text: 'hi' }]) {
    const response = await app.inject({ method: 'POST', url: '/messages', payload })
    t.equal(response.statusCode, 400, JSON.stringify(payload))
  }
  t.equal(app.sseHub.stats().publishedEvents, 0)
})

t.test('publishes only the name, the text and the time, whatever else is posted', async (t) => {
  const app = await build({ now })
  t.teardown(() => app.close())
  const page = await injectEventStream(app, '/events')
  await until(() => app.sseHub.stats().subscribers === 1, 'the page is live')
  const response = await app.inject({ method: 'POST', url: '/messages', payload: { name: 'ada', text: 'hi', id: 'forged', event: 'reset' } })
  t.equal(response.statusCode, 201)
  t.strictSame(await page.take(1), [message((response.json() as { id: string }).id, 'ada', 'hi')])
  await page.close()
})
