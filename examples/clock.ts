// clock: the "hello world" of Server-Sent Events. The server pushes its time every second
// to each open page; nothing is shared between clients.
//
// Try it:  npx tsx examples/server.ts   then open http://127.0.0.1:3000/clock/
//     or:  curl -N http://127.0.0.1:3000/clock/events
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { buildApp, servePage } from './common.js'
import type { AppOptions, PageOptions } from './common.js'

export interface ClockOptions extends PageOptions {
  /** Milliseconds between ticks (default 1000). */
  interval?: number
  /** The clock to read (tests pass a fixed one). */
  now?: () => Date
}

export const clock: FastifyPluginAsync<ClockOptions> = async function clock (app, options) {
  const interval = options.interval ?? 1_000
  const now = options.now ?? (() => new Date())

  servePage(app, 'clock', 'Clock', options)

  // One stream per request: a generator that yields until the client leaves. The signal
  // aborts when the connection closes, which also wakes the generator from its sleep.
  app.get('/events', (request, reply) =>
    reply.sse(async function * ({ signal }) {
      let tick = 0
      while (true) {
        yield { id: ++tick, event: 'tick', data: { time: now().toISOString() } }
        await sleep(interval, undefined, { signal })
      }
    }))
}

/** A standalone app serving the clock at `/`. */
export async function build (options: ClockOptions & AppOptions = {}): Promise<FastifyInstance> {
  return buildApp(clock, options)
}
