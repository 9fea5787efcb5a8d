// Shared by every benchmark server: the payload, the id format, the HTTP contract helpers
// and the process plumbing (ready message, stats, exit when the runner goes away).
//
// The contract every server implements (see bench/README.md):
//   GET  /stream?n=N&size=S         one stream of N `data:` events from an async generator
//   GET  /sub/:channel              subscribe (Last-Event-ID resumes where supported)
//   POST /pub/:channel?n=N&size=S[&interval=MS][&every=K]
//                                   publish N events server-side, reply when the loop is done
//                                   with { ms, firstId, lastId }; `interval` sleeps between
//                                   events, `every` yields to the event loop every K events
//   GET  /stats[?gc=1]              { heapUsed, rss, subscribers, cpuMs } (after gc() if asked)
import { randomBytes } from 'node:crypto'

/** Ids look like the ones fastify-sse-hub's MemoryReplayStore assigns: `<epoch>-<seq>`. */
export const EPOCH = randomBytes(6).toString('hex')
export const REPLAY_EVENTS = 2_000

const PAD = 'x'.repeat(4096)

/** Microseconds on the monotonic clock, which every process on the machine shares. */
export function nowMicros () {
  return Number(process.hrtime.bigint() / 1000n)
}

/**
 * The payload object for event `seq`: `{ seq, t, pad }` whose JSON is exactly `size` bytes
 * (when size is larger than the fields). `t` is the publish time in monotonic microseconds.
 */
export function payload (seq, size, t = nowMicros()) {
  const base = 22 + String(seq).length + String(t).length // {"seq":,"t":,"pad":""}
  return { seq, t, pad: PAD.slice(0, Math.max(0, size - base)) }
}

/** Query parameters the contract uses, with bounds so a typo cannot hang a server. */
export function params (url) {
  const query = new URL(url, 'http://127.0.0.1').searchParams
  const int = (name, fallback, max) => Math.min(max, Math.max(0, Number(query.get(name) ?? fallback) | 0))
  return {
    n: int('n', 1, 10_000_000),
    size: int('size', 64, 65_536),
    interval: int('interval', 0, 10_000),
    every: int('every', 0, 10_000_000)
  }
}

export function stats (url, subscribers) {
  if (new URL(url, 'http://127.0.0.1').searchParams.has('gc') && global.gc) {
    global.gc()
    global.gc()
  }
  const { heapUsed, rss, external } = process.memoryUsage()
  const { user, system } = process.cpuUsage()
  return { heapUsed, external, rss, subscribers, cpuMs: (user + system) / 1000 }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs `publishOne(seq)` n times (sequentially, awaiting it when it returns a promise),
 * spaced by `interval` ms when asked; returns the loop time and the first/last ids.
 */
export async function publishLoop ({ n, interval, every }, publishOne) {
  const start = process.hrtime.bigint()
  let firstId
  let lastId
  for (let i = 0; i < n; i++) {
    let id = publishOne(i)
    if (typeof id?.then === 'function') id = await id
    if (i === 0) firstId = id
    lastId = id
    if (interval > 0 && i < n - 1) await sleep(interval)
    else if (every > 0 && i % every === every - 1) await new Promise(setImmediate)
  }
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, firstId, lastId, count: n }
}

/** Tells the runner which port we listen on; exits as soon as the runner goes away. */
export function ready (name, port) {
  process.on('disconnect', () => process.exit(0))
  if (process.send) process.send({ ready: true, name, port })
  else console.log(`${name} listening on http://127.0.0.1:${port}`)
}
