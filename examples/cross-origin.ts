// cross-origin: a page served from one origin (http://127.0.0.1:3000) reading a stream
// served from another (http://127.0.0.1:3001). A browser lets the page read the stream
// only when the response carries `Access-Control-Allow-Origin` for the page's origin:
// @fastify/cors adds it (reply.sse keeps headers that hooks set). The page opens two
// streams side by side: one route with @fastify/cors, which works, and one without, which
// the browser refuses (EventSource fires `error` and stays closed).
//
// Try it:  npx tsx examples/server.ts   then open http://127.0.0.1:3000/cross-origin/
//          (the demo serves the streams on PORT + 1)
//     or:  curl -N -H 'Origin: http://127.0.0.1:3000' http://127.0.0.1:3001/with-cors/events
import { setTimeout as sleep } from 'node:timers/promises'
import cors from '@fastify/cors'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { buildApp, servePage } from './common.js'
import type { AppOptions, PageOptions } from './common.js'

export interface CrossOriginPageOptions extends PageOptions {
  /** Where the streams are served, e.g. 'http://127.0.0.1:3001'. */
  streamOrigin: string
}

export interface CrossOriginStreamOptions {
  /** Which page origins may read the stream of the CORS-enabled route. */
  allowOrigin: (origin: string) => boolean
  /** Milliseconds between ticks (default 1000). */
  interval?: number
}

/** The page: served on the page's origin, it opens both streams on the stream origin. */
export const crossOriginPage: FastifyPluginAsync<CrossOriginPageOptions> = async function crossOriginPage (app, options) {
  servePage(app, 'cross-origin', 'Cross-origin', options, { streamOrigin: options.streamOrigin })
}

/** The streams: the same ticking route twice, with and without @fastify/cors. */
export const crossOriginStream: FastifyPluginAsync<CrossOriginStreamOptions> = async function crossOriginStream (app, options) {
  const interval = options.interval ?? 1_000

  const ticks: FastifyPluginAsync = async (scope) => {
    scope.get('/events', (request, reply) =>
      reply.sse(async function * ({ signal }) {
        let count = 0
        while (true) {
          count++
          // The Origin header is what the browser says the page's origin is.
          yield { id: count, event: 'tick', data: { count, origin: request.headers.origin ?? null } }
          await sleep(interval, undefined, { signal })
        }
      }))
  }

  // @fastify/cors is registered inside this scope only, so it covers /with-cors/* alone.
  await app.register(async (scope) => {
    await scope.register(cors, {
      // Only the page's origin, not '*': name the origins you serve.
      origin: (origin, callback) => { callback(null, origin !== undefined && options.allowOrigin(origin)) }
    })
    await scope.register(ticks)
  }, { prefix: '/with-cors' })

  await app.register(ticks, { prefix: '/without-cors' })
}

/** The page's app (standalone, the page at `/`). */
export async function build (options: CrossOriginPageOptions & AppOptions): Promise<FastifyInstance> {
  return buildApp(crossOriginPage, options)
}

/** The streams' app, to listen on another port than the page's. */
export async function buildStream (options: CrossOriginStreamOptions & AppOptions): Promise<FastifyInstance> {
  return buildApp(crossOriginStream, options)
}
