// Calibration only: blasts pre-encoded SSE frames as fast as node can write them, so the
// runner can measure how many frames/s the client can count. Same contract for /stream and
// /sub + /pub; the frames are built once, up front, in 64 KiB writes.
import { createServer } from 'node:http'
import { EPOCH, params, payload, ready, stats } from './common.mjs'

const HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }
const subscribers = new Set()

function frames (count, size, withId) {
  const one = Buffer.from(`${withId ? `id: ${EPOCH}-1000000\n` : ''}data: ${JSON.stringify(payload(1, size))}\n\n`)
  const perChunk = Math.max(1, Math.floor(65_536 / one.length))
  const chunk = Buffer.concat(Array(perChunk).fill(one))
  return { chunk, perChunk, rest: Buffer.concat(Array(count % perChunk).fill(one)), full: Math.floor(count / perChunk) }
}

async function send (res, { chunk, rest, full }) {
  for (let i = 0; i < full; i++) {
    if (res.destroyed) return
    if (!res.write(chunk)) await new Promise((resolve) => { res.once('drain', resolve); res.once('close', resolve) })
  }
  if (rest.length) res.write(rest)
}

const server = createServer((req, res) => {
  const [path] = req.url.split('?')
  const p = params(req.url)
  if (path === '/stream') {
    res.writeHead(200, HEADERS)
    return send(res, frames(p.n, p.size, false)).then(() => res.end())
  }
  if (path.startsWith('/sub/')) {
    res.writeHead(200, HEADERS)
    res.flushHeaders()
    subscribers.add(res)
    return res.on('close', () => subscribers.delete(res))
  }
  if (path.startsWith('/pub/')) {
    req.resume()
    const start = process.hrtime.bigint()
    const encoded = frames(p.n, p.size, true)
    return Promise.all([...subscribers].map((sub) => send(sub, encoded))).then(() => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ms: Number(process.hrtime.bigint() - start) / 1e6, count: p.n }))
    })
  }
  if (path === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' })
    return res.end(JSON.stringify(stats(req.url, subscribers.size)))
  }
  res.writeHead(404)
  res.end()
})

server.listen(0, '127.0.0.1', () => ready('blast', server.address().port))
