import t from 'tap'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { build } from '../../examples/job-progress.js'
import { MemoryReplayStore } from '../../lib/index.js'
import type { NewEvent, ReplayStore } from '../../lib/index.js'
import { injectEventStream } from '../../lib/testing.js'
import type { ParsedEvent } from '../../lib/testing.js'
import { until } from '../helpers/build.js'
import type { LogLine } from '../helpers/build.js'

async function startJob (app: FastifyInstance): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/jobs' })
  if (response.statusCode !== 201) throw new Error(`POST /jobs: ${response.statusCode}`)
  return (response.json() as { id: string }).id
}

/** The events without their store-assigned ids (checked apart: present, distinct). */
function withoutIds (t: Test, events: ParsedEvent[]): Array<Omit<ParsedEvent, 'id'>> {
  const ids = events.map(({ id }) => id)
  t.ok(ids.every((id) => typeof id === 'string' && id !== ''), 'every event has an id')
  t.equal(new Set(ids).size, ids.length, 'ids are distinct')
  return events.map(({ event, data }) => ({ event, data }) as Omit<ParsedEvent, 'id'>)
}

function progress (id: string, percent: number) {
  return { event: percent === 100 ? 'done' : 'progress', data: JSON.stringify({ id, percent, finished: percent === 100 }) }
}

t.test('serves its page', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  const response = await app.inject('/')
  t.equal(response.statusCode, 200)
  t.match(response.body, /<title>Job progress · fastify-sse-hub<\/title>/)
})

t.test('a started job reports its progress, and a page opened (or reloaded) later sees all of it', async (t) => {
  const app = await build({ steps: 4, stepMs: 1 })
  t.teardown(() => app.close())
  const id = await startJob(app)
  t.match(id, /^[0-9a-f]{8}$/)
  const expected = [progress(id, 25), progress(id, 50), progress(id, 75), progress(id, 100)]
  const page = await injectEventStream(app, `/jobs/${id}/events`)
  t.strictSame(withoutIds(t, await page.take(4)), expected)
  await page.close()
  const reloaded = await injectEventStream(app, `/jobs/${id}/events`)
  t.strictSame(withoutIds(t, await reloaded.take(4)), expected, 'the same after a reload')
  await reloaded.close()
  t.strictSame((await app.inject(`/jobs/${id}`)).json(), { id, percent: 100, finished: true })
})

t.test('a page that reconnects with Last-Event-ID gets only what it missed', async (t) => {
  const app = await build({ steps: 4, stepMs: 1 })
  t.teardown(() => app.close())
  const id = await startJob(app)
  const page = await injectEventStream(app, `/jobs/${id}/events`)
  const [first] = await page.take(1)
  await page.close()
  const again = await injectEventStream(app, { url: `/jobs/${id}/events`, headers: { 'last-event-id': first?.id as string } })
  t.strictSame(withoutIds(t, await again.take(3)), [progress(id, 50), progress(id, 75), progress(id, 100)])
  await again.close()
})

t.test('an id the hub cannot resume from gives reset, and the state stays readable', async (t) => {
  const app = await build({ steps: 2, stepMs: 60_000 })
  t.teardown(() => app.close())
  const id = await startJob(app)
  const page = await injectEventStream(app, { url: `/jobs/${id}/events`, headers: { 'last-event-id': 'stale' } })
  t.strictSame(await page.take(1), [{ event: 'reset', data: JSON.stringify({ reason: 'malformed', lastEventId: 'stale' }) }])
  await page.close()
  t.strictSame((await app.inject(`/jobs/${id}`)).json(), { id, percent: 0, finished: false })
})

t.test('unknown jobs are 404, and only the latest maxJobs are kept', async (t) => {
  const app = await build({ steps: 1, stepMs: 60_000, maxJobs: 1 })
  t.teardown(() => app.close())
  t.equal((await app.inject('/jobs/nope')).statusCode, 404)
  const events = await app.inject('/jobs/nope/events')
  t.equal(events.statusCode, 404, 'an EventSource gets an error, not a stream')
  t.equal(events.headers['content-type'], 'application/json; charset=utf-8')
  const first = await startJob(app)
  const second = await startJob(app)
  t.equal((await app.inject(`/jobs/${first}`)).statusCode, 404)
  t.equal((await app.inject(`/jobs/${second}`)).statusCode, 200)
})

t.test('closing the app stops running jobs quietly; a job that fails is logged', async (t) => {
  /** A store that loses its connection after `healthy` appends. */
  class FlakyStore extends MemoryReplayStore implements ReplayStore {
    healthy = 2
    override async append (channel: string, event: NewEvent) {
      if (this.healthy-- <= 0) throw new Error('store connection lost')
      return super.append(channel, event)
    }
  }
  const lines: LogLine[] = []
  const app = await build({
    steps: 5,
    stepMs: 1,
    sse: { replayStore: new FlakyStore() },
    logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line) as LogLine) } } }
  })
  const failing = await startJob(app)
  await until(() => lines.some((line) => line.msg === 'job-progress: job failed'), 'the failure log')
  const failure = lines.find((line) => line.msg === 'job-progress: job failed')
  t.equal(failure?.job, failing)
  t.equal(failure?.err?.code, 'FST_SSE_STORE_UNAVAILABLE')

  const slow = await build({ steps: 5, stepMs: 60_000 })
  await startJob(slow)
  const started = Date.now()
  await slow.close()
  t.ok(Date.now() - started < 1_000, 'close does not wait for the job')
  await app.close()
  t.equal(lines.filter((line) => line.level >= 50).length, 1, 'nothing else logged as an error')
})
