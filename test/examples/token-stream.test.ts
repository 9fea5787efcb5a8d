import t from 'tap'
import { build, resumeAt, tokenize } from '../../examples/token-stream.js'
import { injectEventStream } from '../../lib/testing.js'
import { until } from '../helpers/build.js'
import type { LogLine } from '../helpers/build.js'

function logged (lines: LogLine[]) {
  return { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line) as LogLine) } } }
}

function closed (lines: LogLine[]) {
  return lines.filter((line) => line.msg === 'token-stream: answer stream closed')
    .map(({ tokens, of, cancelled }) => ({ tokens, of, cancelled }))
}

const question = 'What is <SSE>?'
const tokens = tokenize(question)
const url = `/answer?q=${encodeURIComponent(question)}`

t.test('serves its page', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  const response = await app.inject('/')
  t.equal(response.statusCode, 200)
  t.match(response.body, /<title>Token stream · fastify-sse-hub<\/title>/)
})

t.test('cuts the answer into words with their leading space', async (t) => {
  t.strictSame(tokens.slice(0, 5), ['You', ' asked:', ' "What', ' is', ' <SSE>?".'])
  t.match(tokens.join(''), /^You asked: "What is <SSE>\?". Server-Sent Events are .* where the client left off\.$/)
  t.equal(resumeAt(undefined, 10), 0)
  t.equal(resumeAt('4', 10), 4)
  t.equal(resumeAt('10', 10), 10)
  for (const id of ['11', 'x', '-1', '']) t.equal(resumeAt(id, 10), 0, id)
})

t.test('streams every token with its count as id, then done, then ends; the finally block runs', async (t) => {
  const lines: LogLine[] = []
  const app = await build({ interval: 1, logger: logged(lines) })
  t.teardown(() => app.close())
  const stream = await injectEventStream(app, url)
  t.strictSame(await stream.rest(), [
    ...tokens.map((data, i) => ({ id: String(i + 1), event: 'token', data })),
    { event: 'done', data: JSON.stringify({ tokens: tokens.length }) }
  ])
  await until(() => closed(lines).length === 1, 'the finally block')
  t.strictSame(closed(lines), [{ tokens: tokens.length, of: tokens.length, cancelled: false }])
})

t.test('resumes after the token in Last-Event-ID', async (t) => {
  const app = await build({ interval: 1 })
  t.teardown(() => app.close())
  const total = tokens.length
  const stream = await injectEventStream(app, { url, headers: { 'last-event-id': String(total - 2) } })
  t.strictSame(await stream.rest(), [
    { id: String(total - 1), event: 'token', data: tokens[total - 2] },
    { id: String(total), event: 'token', data: tokens[total - 1] },
    { event: 'done', data: JSON.stringify({ tokens: total }) }
  ])
})

t.test('a cancelled answer stops the generator at once and its finally block runs', async (t) => {
  const lines: LogLine[] = []
  const app = await build({ interval: 60_000, logger: logged(lines) })
  t.teardown(() => app.close())
  const stream = await injectEventStream(app, { url, headers: { 'last-event-id': '5' } })
  await until(() => stream.retry !== undefined, 'the stream to open')
  await stream.close()
  await until(() => closed(lines).length === 1, 'the finally block')
  t.strictSame(closed(lines), [{ tokens: 5, of: tokens.length, cancelled: true }])
})

t.test('asks for a question', async (t) => {
  const app = await build()
  t.teardown(() => app.close())
  t.equal((await app.inject('/answer')).statusCode, 400)
  t.equal((await app.inject(`/answer?q=${'x'.repeat(201)}`)).statusCode, 400)
})
