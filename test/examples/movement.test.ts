import t from 'tap'
import { AREA, BOX, STEP, build, parsePosition, step } from '../../examples/movement.js'
import { injectEventStream } from '../../lib/testing.js'

/** A random source that always returns the same few numbers, in turn. */
function cycle (...values: number[]): () => number {
  let i = 0
  return () => values[i++ % values.length] as number
}

function move (x: number, y: number) {
  return { id: `${x},${y}`, event: 'move', data: JSON.stringify({ x, y }) }
}

t.test('serves its page with the size of the area', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  const response = await app.inject('/')
  t.equal(response.statusCode, 200)
  t.match(response.body, /style="--w: 800px; --h: 600px; --box: 40px"/)
})

t.test('reads a position from an id, and nothing else', async (t) => {
  t.strictSame(parsePosition('10,20'), { x: 10, y: 20 })
  t.strictSame(parsePosition(`${AREA.width - BOX},${AREA.height - BOX}`), { x: 760, y: 560 })
  for (const id of [undefined, '', '761,0', '0,561', '-1,5', '1,2,3', '1.5,2', 'x,y', '1000,1']) {
    t.equal(parsePosition(id), undefined, String(id))
  }
})

t.test('steps at most STEP on each axis and stays inside the area', async (t) => {
  t.strictSame(step({ x: 100, y: 100 }, () => 0.5), { x: 100, y: 100 })
  t.strictSame(step({ x: 100, y: 100 }, cycle(0.9, 0.1)), { x: 120, y: 80 })
  t.strictSame(step({ x: 100, y: 100 }, () => 0), { x: 100 - STEP, y: 100 - STEP })
  t.strictSame(step({ x: 10, y: 5 }, () => 0), { x: 0, y: 0 })
  t.strictSame(step({ x: 750, y: 550 }, () => 0.9999), { x: 760, y: 560 })
})

t.test('starts from the centre, each event id being the position', async (t) => {
  const app = await build({ interval: 1, random: cycle(0.9, 0.1) })
  t.teardown(() => app.close())
  const stream = await injectEventStream(app, '/events')
  t.strictSame(await stream.take(3), [move(400, 260), move(420, 240), move(440, 220)])
  await stream.close()
})

t.test('resumes from the position in Last-Event-ID, or in the lastEventId query parameter', async (t) => {
  const app = await build({ interval: 1, random: cycle(0.9, 0.1) })
  t.teardown(() => app.close())
  const header = await injectEventStream(app, { url: '/events', headers: { 'last-event-id': '10,20' } })
  t.strictSame(await header.take(2), [move(30, 0), move(50, 0)])
  await header.close()
  const query = await injectEventStream(app, '/events?lastEventId=700,100')
  t.strictSame(await query.take(1), [move(720, 80)])
  await query.close()
})

t.test('starts from the centre when the id is not a position in the area', async (t) => {
  const app = await build({ interval: 1, random: () => 0.5 })
  t.teardown(() => app.close())
  const stream = await injectEventStream(app, { url: '/events', headers: { 'last-event-id': '900,900' } })
  t.strictSame(await stream.take(1), [move(380, 280)])
  await stream.close()
})
