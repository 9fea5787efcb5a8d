// Redis throughput: delivered events/s through fastify-sse-hub with the Redis store and
// backplane, on one instance and on two instances sharing Redis, next to the in-memory
// defaults. Standalone and bounded: it starts its own redis-server on a free loopback port
// (temp dir, no persistence), each instance in its own process, the subscribers in this one.
//
//   node bench/redis-throughput.mjs [--subs 200] [--events 2000] [--size 128] [--window 8] [--repeats 3]
//
// Builds the package first when dist/ is missing (`npm run build`). Needs `redis-server`
// (Debian's package, or REDIS_SERVER_BIN). Every run has a time limit; it stops by itself.
import { fork, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { createServer } from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RUN_TIMEOUT_MS = 60_000
const DEADLINE_MS = 5 * 60_000

if (process.argv[2] === 'instance') await instance()
else await main()

// ------------------------------------------------------------------- one instance (child)
/** A Fastify app with the plugin, driven over IPC: counts subscribers, publishes bursts. */
async function instance () {
  const { default: Fastify } = await import('fastify')
  const { Redis } = await import('ioredis')
  const { default: fastifySseHub, RedisBackplane, RedisReplayStore } = await import('fastify-sse-hub')
  const { REDIS_URL, KEY_PREFIX } = process.env
  let client
  const options = { heartbeatInterval: 0 }
  if (REDIS_URL) {
    client = new Redis(REDIS_URL)
    client.on('error', () => {})
    await once(client, 'ready')
    options.replayStore = new RedisReplayStore({ client, keyPrefix: KEY_PREFIX })
    options.backplane = new RedisBackplane({ client, channelPrefix: KEY_PREFIX })
  }
  const app = Fastify({ logger: false })
  await app.register(fastifySseHub, options)
  app.get('/sub/:channel', (request, reply) => reply.sse(app.sseHub.subscribe(request.params.channel)))
  await app.listen({ port: 0, host: '127.0.0.1' })

  process.on('message', async ({ op, channel, n, size, window }) => {
    if (op === 'subscribers') process.send({ op, count: app.sseHub.stats().subscribers })
    if (op === 'publish') {
      const data = 'x'.repeat(size)
      const start = performance.now()
      let next = 0
      // `window` publishes in flight at a time, each awaited (publish resolves once stored).
      const worker = async () => { while (next < n) { next++; await app.sseHub.publish(channel, data) } }
      await Promise.all(Array.from({ length: Math.min(window, n) }, worker))
      process.send({ op, ms: performance.now() - start })
    }
  })
  process.once('disconnect', async () => {
    await app.close()
    client?.disconnect()
    process.exit(0)
  })
  process.send({ op: 'ready', port: app.server.address().port })
}

// ------------------------------------------------------------------- the runner (parent)
async function main () {
  const { values: args } = parseArgs({
    options: {
      subs: { type: 'string', default: '200' },
      events: { type: 'string', default: '2000' },
      size: { type: 'string', default: '128' },
      window: { type: 'string', default: '8' },
      repeats: { type: 'string', default: '3' }
    }
  })
  const cfg = Object.fromEntries(Object.entries(args).map(([key, value]) => [key, Math.max(1, Number(value) | 0)]))
  const cleanups = []
  const cleanup = () => { for (const fn of cleanups.splice(0).reverse()) fn() }
  process.once('exit', cleanup)
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130))
  const deadline = setTimeout(() => { console.error(`stopped: over ${DEADLINE_MS / 1000} s in all`); process.exit(1) }, DEADLINE_MS)
  deadline.unref()

  if (!existsSync(join(ROOT, 'dist/esm/index.js'))) {
    console.error('dist/ is missing: npm run build')
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' })
    if (built.status !== 0) throw new Error('npm run build failed')
  }
  const redisUrl = await startRedis(cleanups)

  const scenarios = [
    { name: 'single instance, Redis store + backplane', instances: 1, redis: true },
    { name: 'two instances sharing Redis', instances: 2, redis: true },
    { name: 'single instance, in-memory defaults', instances: 1, redis: false }
  ]
  const results = new Map(scenarios.map(({ name }) => [name, []]))
  let run = 0
  for (let repeat = 0; repeat < cfg.repeats; repeat++) {
    for (const scenario of scenarios) {
      const result = await measure(scenario, cfg, redisUrl, `bench-${process.pid}-${run++}:`)
      results.get(scenario.name).push(result)
      console.error(`  ${scenario.name}: ${Math.round(result.delivered)} delivered/s, ${Math.round(result.published)} published/s`)
    }
  }
  print(scenarios, results, cfg)
  cleanup()
  process.exit(0)
}

/** One run: start the instances, open the subscribers split across them, publish from every instance, time the delivery. */
async function measure ({ instances: count, redis }, { subs, events, size, window }, redisUrl, keyPrefix) {
  const children = []
  const sockets = []
  try {
    for (let i = 0; i < count; i++) {
      const env = { ...process.env, KEY_PREFIX: keyPrefix, REDIS_URL: redis ? redisUrl : '' }
      const child = fork(fileURLToPath(import.meta.url), ['instance'], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      children.push(child)
      child.port = (await reply(child, 'ready')).port
    }
    const channel = 'bench'
    const counts = new Uint32Array(subs)
    for (let i = 0; i < subs; i++) {
      const child = children[i % count]
      const request = http.get({ host: '127.0.0.1', port: child.port, path: `/sub/${channel}`, agent: false })
      const response = await Promise.race([once(request, 'response'), timeout('a subscriber connection')])
      const [res] = response
      sockets.push(request)
      let newline = false
      // Counts frames: a blank line ends each (the opening ':' comment is the first).
      res.on('data', (chunk) => {
        for (let j = 0; j < chunk.length; j++) {
          if (chunk[j] !== 10) newline = false
          else if (newline) { counts[i]++; newline = false } else newline = true
        }
      })
    }
    const total = subs * events
    await until(() => counts.every((c) => c === 1), 'every opening comment')
    // Subscriber i is on instance i % count.
    for (const [j, child] of children.entries()) {
      const expected = Math.floor(subs / count) + (j < subs % count ? 1 : 0)
      await until(async () => (await ask(child, { op: 'subscribers' })).count === expected, 'the hub subscriptions')
    }
    if (redis) await untilSubscribed(redisUrl, `${keyPrefix}${channel}`, count)
    counts.fill(0)
    const start = performance.now()
    const published = await Promise.all(children.map((child, i) => ask(child, {
      op: 'publish', channel, size, window, n: Math.floor(events / count) + (i < events % count ? 1 : 0)
    })))
    await until(() => counts.reduce((a, b) => a + b, 0) >= total, `${total} deliveries`)
    const ms = performance.now() - start
    if (counts.some((c) => c !== events)) throw new Error('a subscriber got a wrong number of events')
    return { delivered: total / ms * 1000, published: events / Math.max(...published.map((p) => p.ms)) * 1000 }
  } finally {
    for (const request of sockets) request.destroy()
    await Promise.all(children.map(async (child) => {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.disconnect()
      await exited
    }))
  }
}

function print (scenarios, results, cfg) {
  const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)]
  const figures = scenarios.map(({ name, instances }) => ({
    name,
    instances,
    delivered: median(results.get(name).map((r) => r.delivered)),
    published: median(results.get(name).map((r) => r.published))
  }))
  const [single, , memory] = figures
  const fmt = (n) => Math.round(n).toLocaleString('en-US')
  const lines = [
    `${cfg.subs} subscribers (split across the instances), a burst of ${cfg.events} events of ${cfg.size} B, ` +
      `${cfg.window} publishes in flight per instance; median of ${cfg.repeats}. ` +
      `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, ${os.loadavg()[0].toFixed(2)} load.`,
    '',
    '| Setup | Instances | Published events/s | Delivered events/s | vs single Redis | vs in-memory |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...figures.map((f) => `| ${f.name} | ${f.instances} | ${fmt(f.published)} | ${fmt(f.delivered)} | ` +
      `${(f.delivered / single.delivered).toFixed(2)}× | ${(f.delivered / memory.delivered).toFixed(2)}× |`)
  ]
  console.log(lines.join('\n'))
}

// ------------------------------------------------------------------- plumbing
async function startRedis (cleanups) {
  const binary = process.env.REDIS_SERVER_BIN ?? 'redis-server'
  const dir = mkdtempSync(join(os.tmpdir(), 'sse-bench-redis-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address()
  probe.close()
  await once(probe, 'close')
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] })
  cleanups.push(() => child.kill('SIGKILL'))
  let output = ''
  await Promise.race([
    new Promise((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`cannot start ${binary} (install the redis-server package or set REDIS_SERVER_BIN): ${err.message}`)))
      child.stdout.on('data', (chunk) => {
        output += chunk
        if (output.includes('Ready to accept connections')) resolve()
      })
    }),
    timeout('redis-server to start')
  ])
  child.stdout.resume()
  return `redis://127.0.0.1:${port}`
}

/** Waits until `count` connections listen on the pub/sub channel (every backplane subscribed). */
async function untilSubscribed (redisUrl, name, count) {
  const { Redis } = await import('ioredis')
  const client = new Redis(redisUrl)
  try {
    await until(async () => (await client.pubsub('NUMSUB', name))[1] === count, 'the backplanes to subscribe')
  } finally {
    client.disconnect()
  }
}

function reply (child, op) {
  return Promise.race([new Promise((resolve) => {
    const onMessage = (message) => {
      if (message.op !== op) return
      child.off('message', onMessage)
      resolve(message)
    }
    child.on('message', onMessage)
  }), timeout(`${op} from an instance`)])
}

function ask (child, message) {
  const answer = reply(child, message.op)
  child.send(message)
  return answer
}

function timeout (what) {
  return new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error(`timed out after ${RUN_TIMEOUT_MS} ms waiting for ${what}`)), RUN_TIMEOUT_MS).unref()
  })
}

async function until (check, what) {
  const start = performance.now()
  while (!(await check())) {
    if (performance.now() - start > RUN_TIMEOUT_MS) throw new Error(`timed out after ${RUN_TIMEOUT_MS} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}
