// `npm run bench` — runs every scenario against every server, each server in its own process,
// in a rotating order, R repeats; prints and writes bench/results/latest.md (+ latest.json).
//   node bench/run.mjs [--quick] [--repeats N] [--servers raw,ours,...] [--clients N] [--calibrate]
import { fork } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    repeats: { type: 'string' },
    servers: { type: 'string' },
    clients: { type: 'string' },
    calibrate: { type: 'boolean', default: false },
    only: { type: 'string' } // comma list of scenarios: single,fanout,latency,memory,slow,resume
  }
})

const ALL_SERVERS = ['raw', 'ours', 'fastify-sse', 'fastify-sse-v2', 'better-sse']
const LABELS = { raw: 'raw node:http', ours: 'fastify-sse-hub', 'fastify-sse': '@fastify/sse', 'fastify-sse-v2': 'fastify-sse-v2', 'better-sse': 'better-sse' }
const PACKAGES = { ours: 'fastify-sse-hub', 'fastify-sse': '@fastify/sse', 'fastify-sse-v2': 'fastify-sse-v2', 'better-sse': 'better-sse' }
const RESUMABLE = new Set(['raw', 'ours', 'fastify-sse'])

const FULL = {
  repeats: 3,
  single: 200_000,
  fanout: [{ subs: 1_000, events: 500 }, { subs: 5_000, events: 100 }],
  latency: { events: 20, interval: 100 },
  memoryConns: 5_000,
  slowBytes: 20 * 1024 * 1024,
  resume: 1_000,
  deadlineMs: 15 * 60_000
}
const QUICK = {
  repeats: 3,
  single: 20_000,
  fanout: [{ subs: 1_000, events: 50 }, { subs: 2_000, events: 20 }],
  latency: { events: 8, interval: 50 },
  memoryConns: 2_000,
  slowBytes: 2 * 1024 * 1024,
  resume: 1_000,
  deadlineMs: 4 * 60_000
}
const cfg = { ...(args.quick ? QUICK : FULL) }
if (args.repeats) cfg.repeats = Math.max(1, Number(args.repeats))
const SCENARIOS = new Set((args.only ?? 'single,fanout,latency,memory,slow,resume').split(','))
const CLIENTS = Math.max(1, Number(args.clients ?? 1))
const PAYLOAD = { single: 64, fanout: 128 }
// The slow-subscriber publisher yields to the event loop every SLOW_EVERY events, as one fed
// by I/O would (0 = one tight loop, which lets no socket drain until it ends).
const SLOW_EVERY = Number(process.env.BENCH_SLOW_EVERY ?? 100)
const LATENCY_SAMPLE_CONNS = 500 // latency is read on at most this many connections per run

// ---------------------------------------------------------------- process plumbing
const children = new Set()
function killAll () {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
}
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll()
    process.exit(130)
  })
}
const deadline = setTimeout(() => {
  console.error(`bench: over the ${cfg.deadlineMs / 1000} s deadline, stopping`)
  killAll()
  process.exit(1)
}, cfg.deadlineMs)
deadline.unref()

function spawn (file, execArgv = []) {
  const child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.add(child)
  child.on('exit', () => children.delete(child))
  return child
}

function stop (child) {
  if (!child || child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

let seq = 0
/** Sends an op to a client, tagged so a late reply to an abandoned op is never taken for this one. */
function send (child, msg) {
  msg.seq = ++seq
  child.send(msg)
  return msg.seq
}

/** Waits for the next IPC message with this op (or the child's death, or a timeout). */
function nextMessage (child, op, timeoutMs, tag = seq + 1) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${op}`)), timeoutMs)
    const onMessage = (msg) => { if ((msg.op === op && msg.seq >= tag) || (op === 'ready' && msg.ready)) done(null, msg) }
    const onExit = (code) => done(new Error(`process exited (${code}) while waiting for ${op}`))
    function done (err, msg) {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      if (err) reject(err)
      else resolve(msg)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

async function startServer (name) {
  const child = spawn(here(`./servers/${name}.mjs`), ['--expose-gc', '--no-warnings'])
  const { port } = await nextMessage(child, 'ready', 15_000)
  return { name, child, port }
}

async function startClients (count) {
  return Array.from({ length: count }, () => spawn(here('./client.mjs')))
}

function http (method, port, path, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, timeout: timeoutMs, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => { body += chunk })
      res.on('end', () => {
        try {
          resolve(JSON.parse(body))
        } catch (err) {
          reject(new Error(`${method} ${path}: ${res.statusCode} ${body.slice(0, 200)}`, { cause: err }))
        }
      })
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)))
    req.on('error', reject)
    req.end()
  })
}

const hrNow = () => process.hrtime.bigint()
const debug = process.env.BENCH_DEBUG ? (...a) => console.error(`  [${(performance.now() / 1000).toFixed(2)} s]`, ...a) : () => {}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------- client groups
/** Opens `count` subscriber connections split across the client processes. */
async function openGroup (clients, port, path, count, extra = {}) {
  debug('open', path, count)
  const share = clients.map((_, i) => Math.floor(count / clients.length) + (i < count % clients.length ? 1 : 0))
  const replies = await Promise.all(clients.map((client, i) => {
    if (!share[i]) return { ok: 0, failed: 0 }
    const reply = nextMessage(client, 'opened', 60_000)
    send(client, { op: 'open', port, path, count: share[i], ...extra })
    return reply
  }))
  const ok = replies.reduce((a, r) => a + r.ok, 0)
  if (ok !== count) throw new Error(`only ${ok} of ${count} subscribers connected`)
}

async function closeGroup (clients) {
  debug('close')
  await Promise.all(clients.map((client) => {
    const reply = nextMessage(client, 'closed', 10_000)
    send(client, { op: 'close' })
    return reply
  }))
}

/** Polls the server until it reports `count` subscribers (registration can lag the headers). */
async function waitSubscribers (port, count, timeoutMs = 20_000) {
  debug('wait subscribers', count)
  const until = Date.now() + timeoutMs
  let seen
  while (Date.now() < until) {
    seen = (await http('GET', port, '/stats')).subscribers
    if (seen === count) return
    await sleep(50)
  }
  throw new Error(`server reports ${seen} subscribers, expected ${count}`)
}

/**
 * Arms every client to report when each of its connections holds `frames` events, then runs
 * `trigger()` (the publish) and waits. Returns the start time, the last arrival and totals.
 */
async function expectFrames (clients, frames, trigger, { timeoutMs = 120_000, mode, sample } = {}) {
  const done = clients.map((client) => nextMessage(client, 'done', timeoutMs + 5_000))
  await Promise.all(clients.map((client) => {
    const armed = nextMessage(client, 'armed', 10_000)
    send(client, { op: 'expect', frames, timeoutMs, mode, sample })
    return armed
  }))
  debug('trigger', frames)
  const start = hrNow()
  const triggered = await trigger()
  const results = await Promise.all(done)
  const lastAt = results.reduce((a, r) => (BigInt(r.lastAt) > a ? BigInt(r.lastAt) : a), 0n)
  return {
    start,
    triggered,
    ms: Number(lastAt - start) / 1e6,
    complete: results.every((r) => r.complete),
    failed: results.reduce((a, r) => a + r.failed, 0),
    minFrames: Math.min(...results.map((r) => r.minFrames)),
    bytes: results.reduce((a, r) => a + r.bytes, 0),
    frames: results.reduce((a, r) => a + r.frames, 0),
    latencies: results.flatMap((r) => r.latencies),
    clientCpuMs: results.reduce((a, r) => a + r.cpuMs, 0)
  }
}

function percentile (sorted, p) {
  if (!sorted.length) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

// ---------------------------------------------------------------- scenarios
async function singleStream (server, clients) {
  const n = cfg.single
  const reply = nextMessage(clients[0], 'streamed', 120_000)
  send(clients[0], { op: 'stream', port: server.port, path: `/stream?n=${n}&size=${PAYLOAD.single}`, frames: n, timeoutMs: 110_000 })
  const r = await reply
  await closeGroup(clients)
  if (r.frames < n) throw new Error(`single stream: got ${r.frames} of ${n} events`)
  return { eventsPerSec: n / (r.ms / 1000), mbPerSec: r.bytes / 1e6 / (r.ms / 1000), ms: r.ms, bytesPerEvent: r.bytes / n, clientCpuMs: r.cpuMs }
}

/** A burst of `events` to `subs` connected subscribers on `channel`; `state.expected` counts per connection. */
async function burst (server, clients, channel, subs, events, state) {
  const cpuBefore = (await http('GET', server.port, '/stats')).cpuMs
  state.expected += events
  const r = await expectFrames(clients, state.expected,
    () => http('POST', server.port, `/pub/${channel}?n=${events}&size=${PAYLOAD.fanout}`))
  const cpuAfter = (await http('GET', server.port, '/stats')).cpuMs
  if (!r.complete) throw new Error(`fan-out ${subs}: slowest subscriber got ${r.minFrames} of ${state.expected}`)
  return {
    eventsPerSec: (subs * events) / (r.ms / 1000),
    ms: r.ms,
    publishLoopMs: r.triggered.ms,
    bytesPerEvent: r.bytes / r.frames,
    serverCpuMs: cpuAfter - cpuBefore,
    clientCpuMs: r.clientCpuMs
  }
}

async function latency (server, clients, channel, subs, state) {
  const { events, interval } = cfg.latency
  state.expected += events
  const sample = Math.max(1, Math.ceil(subs / LATENCY_SAMPLE_CONNS))
  const r = await expectFrames(clients, state.expected,
    () => http('POST', server.port, `/pub/${channel}?n=${events}&size=${PAYLOAD.fanout}&interval=${interval}`),
    { mode: 'latency', sample })
  if (!r.complete) throw new Error(`latency ${subs}: slowest subscriber got ${r.minFrames} of ${state.expected}`)
  const sorted = Float64Array.from(r.latencies).sort()
  return { p50Ms: percentile(sorted, 0.5) / 1000, p99Ms: percentile(sorted, 0.99) / 1000, samples: sorted.length }
}

async function fanoutAndMemory (server, clients, out) {
  // Warm up the code paths once, so the baseline includes what any first stream loads.
  await openGroup(clients, server.port, '/sub/warm', 10)
  await waitSubscribers(server.port, 10)
  await expectFrames(clients, 5, () => http('POST', server.port, `/pub/warm?n=5&size=${PAYLOAD.fanout}`))
  await closeGroup(clients)
  await waitSubscribers(server.port, 0)

  for (const [index, { subs, events }] of cfg.fanout.entries()) {
    const channel = `fan${subs}`
    const base = SCENARIOS.has('memory') && subs === cfg.memoryConns ? await http('GET', server.port, '/stats?gc=1') : null
    const openStart = performance.now()
    await openGroup(clients, server.port, `/sub/${channel}`, subs)
    out[`connect${index}`] = { perSec: subs / ((performance.now() - openStart) / 1000) }
    await waitSubscribers(server.port, subs)
    if (base) {
      await sleep(200)
      const after = await http('GET', server.port, '/stats?gc=1')
      out.memory = {
        heapPerConn: (after.heapUsed - base.heapUsed) / subs,
        rssPerConn: (after.rss - base.rss) / subs,
        conns: subs
      }
    }
    const state = { expected: 0 }
    if (SCENARIOS.has('fanout')) out[`fanout${index}`] = await burst(server, clients, channel, subs, events, state)
    if (SCENARIOS.has('latency')) out[`latency${index}`] = await latency(server, clients, channel, subs, state)
    await closeGroup(clients)
    await waitSubscribers(server.port, 0)
  }
}

/** Resumes after RESUME_RUNS times: the first on code paths no other scenario ran (cold), then warm ones. */
const RESUME_RUNS = 6

async function resume (server, clients) {
  const n = cfg.resume
  const pub = await http('POST', server.port, `/pub/resume?n=${n + 1}&size=${PAYLOAD.fanout}`)
  const times = []
  for (let run = 0; run < RESUME_RUNS; run++) {
    const reply = nextMessage(clients[0], 'streamed', 60_000)
    send(clients[0], {
      op: 'stream',
      port: server.port,
      path: '/sub/resume',
      headers: { 'Last-Event-ID': pub.firstId },
      mode: 'ids',
      frames: n,
      timeoutMs: 50_000
    })
    const r = await reply
    await closeGroup(clients)
    await waitSubscribers(server.port, 0)
    if (r.frames !== n || r.lastId !== pub.lastId) {
      throw new Error(`resume: got ${r.frames} of ${n} events, last id ${r.lastId} (expected ${pub.lastId})`)
    }
    times.push(r.ms)
  }
  return { ms: times[0], warmMs: median(times.slice(1)) }
}

/** Its own server process: one subscriber that never reads, one that does, slowBytes published. */
async function slowSubscriber (name, clients) {
  debug('slow subscriber')
  const server = await startServer(name)
  try {
    const events = Math.ceil(cfg.slowBytes / PAYLOAD.fanout)
    await openGroup([clients[0]], server.port, '/sub/slow', 1, { paused: true })
    await openGroup([clients[0]], server.port, '/sub/slow', 1)
    await waitSubscribers(server.port, 2)
    const base = await http('GET', server.port, '/stats?gc=1')
    const r = await expectFrames([clients[0]], events,
      () => http('POST', server.port, `/pub/slow?n=${events}&size=${PAYLOAD.fanout}&every=${SLOW_EVERY}`), { timeoutMs: 60_000 })
    debug('slow: delivered', r.minFrames, 'in', r.ms, 'ms; loop', r.triggered.ms, 'ms')
    // Bounded: a server that drowns in its stalled client's backlog may stop answering.
    const after = await http('GET', server.port, '/stats?gc=1', 10_000).catch(() => null)
    await closeGroup(clients)
    return {
      publishLoopMs: r.triggered.ms,
      normalGot: r.minFrames / events,
      normalMs: r.complete ? r.ms : NaN,
      normalDropped: r.failed > 0,
      heapGrowthMB: after ? (after.heapUsed + after.external - base.heapUsed - base.external) / 1e6 : NaN,
      rssGrowthMB: after ? (after.rss - base.rss) / 1e6 : NaN,
      stalledDropped: after ? after.subscribers < 2 - r.failed : undefined,
      responsive: Boolean(after)
    }
  } finally {
    await stop(server.child)
  }
}

async function runServer (name, clients) {
  const out = {}
  debug('start', name)
  const server = await startServer(name)
  try {
    if (SCENARIOS.has('fanout') || SCENARIOS.has('latency') || SCENARIOS.has('memory')) await fanoutAndMemory(server, clients, out)
    if (SCENARIOS.has('single')) out.single = await singleStream(server, clients)
    if (SCENARIOS.has('resume') && RESUMABLE.has(name)) out.resume = await resume(server, clients)
  } finally {
    await stop(server.child)
  }
  if (SCENARIOS.has('slow')) out.slow = await slowSubscriber(name, clients)
  return out
}

// ---------------------------------------------------------------- calibration
/** The client's ceiling: frames/s it counts from a server that only writes pre-encoded bytes. */
async function calibrate (clients) {
  const server = await startServer('blast')
  try {
    const n = args.quick ? 500_000 : 2_000_000
    const reply = nextMessage(clients[0], 'streamed', 120_000)
    send(clients[0], { op: 'stream', port: server.port, path: `/stream?n=${n}&size=${PAYLOAD.single}`, frames: n, timeoutMs: 110_000 })
    const single = await reply
    await closeGroup(clients)
    const subs = 1_000
    const events = args.quick ? 200 : 1_000
    await openGroup(clients, server.port, '/sub/blast', subs)
    await waitSubscribers(server.port, subs)
    const r = await expectFrames(clients, events, () => http('POST', server.port, `/pub/blast?n=${events}&size=${PAYLOAD.fanout}`))
    await closeGroup(clients)
    return {
      singleFramesPerSec: n / (single.ms / 1000),
      fanoutFramesPerSec: (subs * events) / (r.ms / 1000),
      fanoutClientCpuMs: r.clientCpuMs,
      fanoutMs: r.ms
    }
  } finally {
    await stop(server.child)
  }
}

// ---------------------------------------------------------------- report
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (!s.length) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const get = (obj, path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj)

const fmt = {
  int: (x) => Math.round(x).toLocaleString('en-US'),
  num1: (x) => x.toFixed(1),
  num2: (x) => x.toFixed(2),
  kb: (x) => (x / 1024).toFixed(1),
  pct: (x) => `${(x * 100).toFixed(0)} %`,
  bool: (x) => (x ? 'yes' : 'no')
}

const [A, B] = cfg.fanout
const k = (n) => (n >= 1000 ? `${n / 1000}k` : String(n))
const ROWS = [
  [`Single stream, events/s (${k(cfg.single)} x ${PAYLOAD.single} B)`, 'single.eventsPerSec', fmt.int, true],
  ['Single stream, MB/s', 'single.mbPerSec', fmt.num1, true],
  [`Fan-out ${k(A.subs)} subs, delivered events/s`, 'fanout0.eventsPerSec', fmt.int, true],
  [`Fan-out ${k(B.subs)} subs, delivered events/s`, 'fanout1.eventsPerSec', fmt.int, true],
  [`Fan-out ${k(B.subs)}, publish loop ms`, 'fanout1.publishLoopMs', fmt.num1, true],
  ['Fan-out bytes per event on the wire', 'fanout0.bytesPerEvent', fmt.num1, false],
  [`Connect ${k(B.subs)} subscribers at once, connections/s`, 'connect1.perSec', fmt.int, true],
  [`Latency ${k(A.subs)} subs p50 ms (lower is better)`, 'latency0.p50Ms', fmt.num2, true],
  [`Latency ${k(A.subs)} subs p99 ms`, 'latency0.p99Ms', fmt.num2, true],
  [`Latency ${k(B.subs)} subs p50 ms`, 'latency1.p50Ms', fmt.num2, true],
  [`Latency ${k(B.subs)} subs p99 ms`, 'latency1.p99Ms', fmt.num2, true],
  [`Idle heap per connection, KiB (${k(cfg.memoryConns)} conns)`, 'memory.heapPerConn', fmt.kb, true],
  ['Idle RSS per connection, KiB', 'memory.rssPerConn', fmt.kb, true],
  ['Slow subscriber: publish loop ms', 'slow.publishLoopMs', fmt.num1, true],
  ['Slow subscriber: normal subscriber got', 'slow.normalGot', fmt.pct, false],
  ['Slow subscriber: normal subscriber done, ms', 'slow.normalMs', fmt.num1, true],
  ['Slow subscriber: normal subscriber disconnected', 'slow.normalDropped', fmt.bool, false],
  ['Slow subscriber: heap+external growth MB (after gc)', 'slow.heapGrowthMB', fmt.num1, false],
  ['Slow subscriber: RSS growth MB', 'slow.rssGrowthMB', fmt.num1, false],
  ['Slow subscriber: stalled client dropped', 'slow.stalledDropped', fmt.bool, false],
  ['Slow subscriber: server answers /stats within 10 s', 'slow.responsive', fmt.bool, false],
  [`Resume ${fmt.int(cfg.resume)} missed events, first (cold), ms`, 'resume.ms', fmt.num1, true],
  [`Resume ${fmt.int(cfg.resume)} missed events, warm (median of ${RESUME_RUNS - 1}), ms`, 'resume.warmMs', fmt.num1, true]
]

function table (runs, servers) {
  const head = `| Scenario | ${servers.map((s) => LABELS[s]).join(' | ')} |`
  const sep = `|---|${servers.map(() => '---:').join('|')}|`
  const lines = [head, sep]
  for (const [label, path, f, ratio] of ROWS) {
    const cells = servers.map((s) => {
      const values = runs.map((run) => get(run.results[s], path)).filter((v) => v !== undefined)
      if (!values.length) return runs.some((run) => run.errors[s]) ? 'error' : 'n/a'
      if (typeof values[0] === 'boolean') return f(values.filter(Boolean).length * 2 > values.length)
      const value = median(values)
      if (!Number.isFinite(value)) return 'n/a'
      if (!ratio || s === 'raw') return f(value)
      const ratios = runs.map((run) => get(run.results[s], path) / get(run.results.raw, path))
        .filter((x, i) => get(runs[i].results.raw, path) > 0)
      const r = median(ratios)
      return Number.isFinite(r) ? `${f(value)} (${r.toFixed(2)}x)` : f(value)
    })
    lines.push(`| ${label} | ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

function versions (servers) {
  const out = [`node ${process.version}`]
  const fastify = JSON.parse(readFileSync(here('../node_modules/fastify/package.json'), 'utf8')).version
  out.push(`fastify ${fastify}`)
  for (const s of servers) {
    if (!PACKAGES[s]) continue
    const file = s === 'ours' ? here('../package.json') : here(`../node_modules/${PACKAGES[s]}/package.json`)
    out.push(`${PACKAGES[s]} ${JSON.parse(readFileSync(file, 'utf8')).version}`)
  }
  return out.join(', ')
}

// ---------------------------------------------------------------- main
async function main () {
  const started = Date.now()
  let servers = args.servers ? args.servers.split(',') : ALL_SERVERS
  if (!servers.includes('raw')) servers = ['raw', ...servers]
  const clients = await startClients(CLIENTS)
  const command = `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim()
  console.error(`bench: ${command} — ${servers.length} servers x ${cfg.repeats} repeats`)

  let calibration
  if (args.calibrate || !args.quick) {
    calibration = await calibrate(clients)
    console.error(`bench: client ceiling ${fmt.int(calibration.singleFramesPerSec)} frames/s (one stream), ${fmt.int(calibration.fanoutFramesPerSec)} frames/s (1k fan-out)`)
  }

  const runs = []
  for (let r = 0; r < cfg.repeats; r++) {
    const order = servers.map((_, i) => servers[(i + r) % servers.length])
    const run = { order, results: {}, errors: {} }
    for (const name of order) {
      const t = Date.now()
      try {
        run.results[name] = await runServer(name, clients)
      } catch (err) {
        run.errors[name] = err.message
        console.error(`bench: ${name} failed: ${err.message}`)
        await closeGroup(clients).catch(() => {})
      }
      console.error(`bench: repeat ${r + 1}/${cfg.repeats} ${name} ${((Date.now() - t) / 1000).toFixed(1)} s`)
    }
    runs.push(run)
  }
  await Promise.all(clients.map(stop))

  const cpus = os.cpus()
  const lines = [
    `# Benchmark results${args.quick ? ' (quick run)' : ''}`,
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Command: \`${command}\` (${((Date.now() - started) / 1000).toFixed(0)} s)`,
    `- Machine: ${cpus[0]?.model ?? 'unknown cpu'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `- Versions: ${versions(servers)}`,
    `- Each figure is the median of ${cfg.repeats} repeats; (n.nnx) is the median of the per-repeat ratios to raw node:http (higher is better for rates, lower for times, latency and memory). Servers run one at a time, each in its own process, in a rotating order.`,
    `- Sizes: single stream ${fmt.int(cfg.single)} events of ${PAYLOAD.single} B JSON; fan-out bursts ${cfg.fanout.map((f) => `${fmt.int(f.subs)} subs x ${f.events} events`).join(', ')} of ${PAYLOAD.fanout} B JSON; latency ${cfg.latency.events} events, one every ${cfg.latency.interval} ms; slow subscriber ${cfg.slowBytes / 2 ** 20} MiB of payload; resume ${cfg.resume} missed events.`,
    ''
  ]
  if (calibration) {
    lines.push(`- Client ceiling (calibration against a server writing pre-encoded bytes): ${fmt.int(calibration.singleFramesPerSec)} frames/s on one stream, ${fmt.int(calibration.fanoutFramesPerSec)} frames/s over 1,000 connections.`, '')
  }
  lines.push(table(runs, servers), '')
  const errors = runs.flatMap((run, i) => Object.entries(run.errors).map(([s, e]) => `- repeat ${i + 1}, ${LABELS[s]}: ${e}`))
  if (errors.length) lines.push('Errors:', '', ...errors, '')
  const markdown = lines.join('\n')

  mkdirSync(here('./results'), { recursive: true })
  writeFileSync(here('./results/latest.md'), markdown)
  writeFileSync(here('./results/latest.json'), JSON.stringify({ cfg, calibration, runs }, null, 2))
  console.log(markdown)
}

main().then(() => process.exit(0), (err) => {
  console.error(err)
  process.exit(1)
})
