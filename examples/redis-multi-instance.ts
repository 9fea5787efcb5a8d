// redis-multi-instance: the same app running as two instances, on two ports, sharing one
// Redis — what you deploy behind a load balancer. The page served by instance A streams
// from A; its form publishes through instance B. The message reaches the page anyway, with
// the id Redis gave it: `RedisBackplane` carries every publish to every instance, and
// `RedisReplayStore` keeps each channel's history in a Redis stream, so a page that
// reconnects to either instance with Last-Event-ID gets exactly what it missed.
//
// Try it:  REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/redis-multi-instance.ts
//          then open http://127.0.0.1:3000/ (instance A) and http://127.0.0.1:3001/ (instance B)
//     or:  curl -N http://127.0.0.1:3000/events
//          curl -H 'content-type: application/json' -d '{"text":"hi"}' http://127.0.0.1:3001/messages
// (PORT=4000 moves A to 4000 and B to 4001. Stop Redis for a moment: publishing fails with
// FST_SSE_STORE_UNAVAILABLE while it is down, open pages stay connected and carry on after.)
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import cors from '@fastify/cors'
import Fastify from 'fastify'
import type { FastifyInstance, FastifyPluginAsync, FastifyServerOptions } from 'fastify'
import { Redis } from 'ioredis'
import fastifySseHub, { RedisBackplane, RedisReplayStore } from '../lib/index.js'
import { SSE_OPTIONS, renderPage } from './common.js'

/** Where the other instance is: known only once both listen, hence a function. */
export interface Peer {
  name: string
  origin: string
}

export interface RedisMultiInstanceOptions {
  /** This instance's name, shown on its page and in each message it publishes ('A'). */
  name: string
  /** The other instance: the page publishes through it. */
  peer: () => Peer
  /** The hub channel (default 'messages'). */
  channel?: string
}

/** What a page receives in each `message` event. */
export interface InstanceMessage {
  text: string
  /** The instance that published it. */
  via: string
}

const messageBody = {
  type: 'object',
  required: ['text'],
  additionalProperties: false,
  properties: { text: { type: 'string', minLength: 1, maxLength: 500 } }
} as const

/** The app each instance runs: the page, the stream, and a publish route other origins may call. */
export const redisMultiInstance: FastifyPluginAsync<RedisMultiInstanceOptions> = async function redisMultiInstance (app, options) {
  const channel = options.channel ?? 'messages'
  const base = `${app.prefix}/`

  // The page names the other instance, whose address is known once both listen: rendered per request.
  app.get('/', (request, reply) => {
    const peer = options.peer()
    const html = renderPage('redis-multi-instance', {
      title: `Redis, instance ${options.name}`,
      base,
      instance: options.name,
      peer: peer.name,
      publishUrl: `${peer.origin}${base}messages`
    })
    reply.type('text/html; charset=utf-8').send(html)
  })

  // Nothing Redis-specific here: the hub subscribes this instance to the channel in Redis
  // and replays from the shared stream when the page resumes with Last-Event-ID.
  app.get('/events', (request, reply) =>
    reply.sse(app.sseHub.subscribe(channel, { lastEventId: request.lastEventId })))

  // The other instance's page posts here: another origin, so @fastify/cors (in this scope only).
  await app.register(async (scope) => {
    await scope.register(cors, {
      origin: (origin, callback) => {
        const peer = options.peer().origin
        callback(null, origin === peer || origin === peer.replace('127.0.0.1', 'localhost'))
      }
    })
    // Resolves once Redis stored the event (and published it to every instance) — or fails
    // with FST_SSE_STORE_UNAVAILABLE (a 500) while Redis is down.
    scope.post<{ Body: { text: string } }>('/messages', { schema: { body: messageBody } }, async (request, reply) => {
      const message: InstanceMessage = { text: request.body.text, via: options.name }
      const { id } = await app.sseHub.publish(channel, { event: 'message', data: message })
      return reply.code(201).send({ id })
    })
  })
}

export interface BuildOptions {
  /** e.g. 'redis://127.0.0.1:6379'. */
  redisUrl: string
  /** Port of instance A; B listens on the next one (0: any free port for both). */
  port: number
  host?: string
  /** Prefix of the Redis keys and pub/sub channels (default 'sse:'): one per app sharing a Redis. */
  keyPrefix?: string
  /** Fastify's logger option (default off). */
  logger?: FastifyServerOptions['logger']
}

export interface Instance {
  app: FastifyInstance
  /** The instance's own ioredis client: the plugin never quits it, close() does. */
  client: Redis
  /** Where it listens, e.g. 'http://127.0.0.1:3000'. */
  origin: string
}

export interface Instances {
  a: Instance
  b: Instance
  /** Closes both apps, then their Redis clients. */
  close (): Promise<void>
}

/** One instance: its own Redis client, the plugin with the Redis store and backplane, the app. */
async function instance (name: string, peer: () => Peer, options: BuildOptions): Promise<Omit<Instance, 'origin'>> {
  const { redisUrl, keyPrefix = 'sse:' } = options
  const app = Fastify({ logger: options.logger ?? false })
  // A client per instance, as separate processes would have. ioredis reconnects by itself; an
  // 'error' listener is required (without one ioredis prints every reconnect attempt).
  const client = new Redis(redisUrl)
  client.on('error', (err) => { app.log.warn({ err }, `instance ${name}: redis connection error`) })
  try {
    await once(client, 'ready') // rejects with the first connection error: fail fast at startup
    await app.register(fastifySseHub, {
      ...SSE_OPTIONS,
      // The same client for both: a publish is then one Lua script in Redis (XADD + PUBLISH),
      // so every instance delivers in id order.
      replayStore: new RedisReplayStore({ client, keyPrefix }),
      backplane: new RedisBackplane({ client, channelPrefix: keyPrefix })
    })
    await app.register(redisMultiInstance, { name, peer })
  } catch (err) {
    client.disconnect()
    await app.close()
    throw err
  }
  return { app, client }
}

/** Starts instances A and B of the app, on two ports, sharing the Redis at `redisUrl`. */
export async function build (options: BuildOptions): Promise<Instances> {
  const { port } = options
  const host = options.host ?? '127.0.0.1'
  const origins = { A: '', B: '' }
  const started: Array<Omit<Instance, 'origin'>> = []
  const closeAll = async (): Promise<void> => {
    await Promise.all(started.map(({ app }) => app.close()))
    await Promise.all(started.map(({ client }) => client.quit()))
  }
  try {
    started.push(await instance('A', () => ({ name: 'B', origin: origins.B }), options))
    started.push(await instance('B', () => ({ name: 'A', origin: origins.A }), options))
    const [a, b] = started as [Omit<Instance, 'origin'>, Omit<Instance, 'origin'>]
    origins.A = await a.app.listen({ port, host })
    origins.B = await b.app.listen({ port: port === 0 ? 0 : port + 1, host })
    return { a: { ...a, origin: origins.A }, b: { ...b, origin: origins.B }, close: closeAll }
  } catch (err) {
    await closeAll()
    throw err
  }
}

/* c8 ignore next 11 -- runs only as `tsx examples/redis-multi-instance.ts` */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const instances = await build({ redisUrl, port: Number(process.env.PORT ?? 3000), logger: { level: 'info' } })
  console.log(`instance A: ${instances.a.origin}/   instance B: ${instances.b.origin}/   (Redis: ${redisUrl})`)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      instances.close().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1) })
    })
  }
}
