// The practical limit: node:http with hand-written SSE framing. A broadcast is encoded once
// into one Buffer and the same Buffer is written to every response. Resume comes from a
// hand-written ring of the last REPLAY_EVENTS encoded frames.
import { createServer } from 'node:http'
import { EPOCH, REPLAY_EVENTS, params, payload, publishLoop, ready, stats } from './common.mjs'

const HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
  connection: 'keep-alive'
}

const channels = new Map() // name -> { subscribers: Set<res>, seq, history: [{ seq, frame }] }
let subscriberCount = 0

function channel (name) {
  let ch = channels.get(name)
  if (!ch) {
    ch = { subscribers: new Set(), seq: 0, history: [] }
    channels.set(name, ch)
  }
  return ch
}

function write (res, chunk) {
  if (res.write(chunk)) return
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

async function * events (n, size) {
  for (let i = 0; i < n; i++) yield payload(i, size)
}

async function stream (req, res) {
  const { n, size } = params(req.url)
  res.writeHead(200, HEADERS)
  for await (const event of events(n, size)) {
    if (res.destroyed) break
    const pending = write(res, `data: ${JSON.stringify(event)}\n\n`)
    if (pending) await pending
  }
  res.end()
}

function subscribe (req, res, name) {
  const ch = channel(name)
  res.writeHead(200, HEADERS)
  res.flushHeaders()
  const lastEventId = req.headers['last-event-id']
  if (lastEventId !== undefined) {
    const [epoch, seq] = lastEventId.split('-')
    const after = epoch === EPOCH ? Number(seq) : -1
    const from = ch.history.findIndex((entry) => entry.seq > after)
    if (from !== -1) res.write(Buffer.concat(ch.history.slice(from).map((entry) => entry.frame)))
  }
  ch.subscribers.add(res)
  subscriberCount++
  res.on('close', () => {
    ch.subscribers.delete(res)
    subscriberCount--
  })
}

function publish (ch, data) {
  const seq = ++ch.seq
  const id = `${EPOCH}-${seq}`
  const frame = Buffer.from(`id: ${id}\ndata: ${JSON.stringify(data)}\n\n`)
  ch.history.push({ seq, frame })
  if (ch.history.length > REPLAY_EVENTS) ch.history.shift()
  for (const res of ch.subscribers) res.write(frame)
  return id
}

const server = createServer((req, res) => {
  const [path] = req.url.split('?')
  if (req.method === 'GET' && path === '/stream') return stream(req, res)
  if (req.method === 'GET' && path.startsWith('/sub/')) return subscribe(req, res, path.slice(5))
  if (req.method === 'POST' && path.startsWith('/pub/')) {
    const ch = channel(path.slice(5))
    const p = params(req.url)
    req.resume()
    return publishLoop(p, (i) => publish(ch, payload(i, p.size))).then((result) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(result))
    })
  }
  if (req.method === 'GET' && path === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' })
    return res.end(JSON.stringify(stats(req.url, subscriberCount)))
  }
  res.writeHead(404)
  res.end()
})

server.listen(0, '127.0.0.1', () => ready('raw', server.address().port))
