import t from 'tap'
import { SENTENCE, build, resumeAt } from '../../examples/words.js'
import { injectEventStream } from '../../lib/testing.js'
import { until } from '../helpers/build.js'
import type { LogLine } from '../helpers/build.js'

function logged (lines: LogLine[]) {
  return { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line) as LogLine) } } }
}

function closedAfter (lines: LogLine[]): unknown[] {
  return lines.filter((line) => line.msg === 'words: client closed the stream').map((line) => line.words)
}

const words = SENTENCE.split(' ').map((data, i) => ({ id: String(i + 1), event: 'word', data }))

t.test('serves its page', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  const response = await app.inject('/')
  t.equal(response.statusCode, 200)
  t.match(response.body, /<title>Words · fastify-sse-hub<\/title>/)
})

t.test('counts the words a client has from its Last-Event-ID', async (t) => {
  t.equal(resumeAt(undefined), 0)
  t.equal(resumeAt('3'), 3)
  t.equal(resumeAt('9'), 9)
  for (const id of ['10', '-1', 'three', '1.5', '']) t.equal(resumeAt(id), 0, id)
})

t.test('sends the sentence a word at a time, keeps the stream open, and sees the client leave', async (t) => {
  const lines: LogLine[] = []
  const app = await build({ interval: 1, logger: logged(lines), sse: { heartbeatInterval: 20 } })
  t.teardown(() => app.close())
  const stream = await injectEventStream(app, '/events')
  t.strictSame(await stream.take(9), words)
  t.strictSame(words.map(({ data }) => data).join(' '), 'The quick brown fox jumps over the lazy dog.')
  t.equal(stream.retry, 1000, 'the stream opened with retry, not a comment')
  t.strictSame(stream.comments, [])
  // The server does not end the stream (the browser would reconnect and start over): heartbeats go on.
  await until(() => stream.comments.length > 0, 'a heartbeat after the last word', 2_000)
  t.strictSame(stream.comments, [''])
  t.strictSame(closedAfter(lines), [], 'still open')
  await stream.close()
  await until(() => closedAfter(lines).length === 1, 'the generator finally block')
  t.strictSame(closedAfter(lines), [9])
})

t.test('a client that leaves mid-sentence stops the generator in its sleep', async (t) => {
  const lines: LogLine[] = []
  const app = await build({ interval: 60_000, logger: logged(lines) })
  t.teardown(() => app.close())
  const stream = await injectEventStream(app, '/events')
  t.strictSame(await stream.take(1), [words[0]])
  await stream.close()
  await until(() => closedAfter(lines).length === 1, 'the generator finally block')
  t.strictSame(closedAfter(lines), [1])
})

t.test('a page that reconnects mid-sentence gets the words after its Last-Event-ID', async (t) => {
  const app = await build({ interval: 1 })
  t.teardown(() => app.close())
  const stream = await injectEventStream(app, { url: '/events', headers: { 'last-event-id': '7' } })
  t.strictSame(await stream.take(2), words.slice(7))
  await stream.close()
})
