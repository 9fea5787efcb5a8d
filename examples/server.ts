// The demo: every example on one server, with an index page linking to each.
//
//   npm start                 http://127.0.0.1:3000/   (PORT=4000 npm start to move it)
//
// Each example is a Fastify plugin mounted under its own prefix (/clock/, /chat-room/, ...),
// all sharing one registration of fastify-sse-hub with its in-memory hub: no other service.
// The cross-origin example also serves its streams on PORT + 1, a second origin.
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import fastifySseHub from '../lib/index.js'
import { chatRoom } from './chat-room.js'
import { clock } from './clock.js'
import { crossOriginPage, crossOriginStream } from './cross-origin.js'
import { jobProgress } from './job-progress.js'
import { movement } from './movement.js'
import { SSE_OPTIONS, escapeHtml, renderPage } from './common.js'
import { tokenStream } from './token-stream.js'
import { words } from './words.js'

export interface StartOptions {
  /** Port of the index and the examples (default: PORT, else 3000); the cross-origin streams use the next one (0: any free port for both). */
  port?: number
  host?: string
  /** Fastify's logger option (default off; `npm start` logs at info). */
  logger?: FastifyServerOptions['logger']
  /** Where the startup line goes (default console.log). */
  print?: (line: string) => void
}

export interface Demo {
  /** The index and every example. */
  app: FastifyInstance
  /** The cross-origin example's streams, on another port. */
  streams: FastifyInstance
  url: string
  close (): Promise<void>
}

/** The examples: prefix, title, what it shows. The order of the index page. */
export const EXAMPLES = [
  { name: 'clock', title: 'Clock', about: 'The server pushes its time every second: one stream per request from an async generator.' },
  { name: 'chat-room', title: 'Chat room', about: 'Broadcast through the hub; a page that reconnects catches up with Last-Event-ID.' },
  { name: 'movement', title: 'Movement', about: 'A wandering box whose event ids are its position: resume from an application-defined id.' },
  { name: 'words', title: 'Words', about: 'A sentence one word a second; the page closes the stream at the final period and the server sees it.' },
  { name: 'cross-origin', title: 'Cross-origin', about: 'A page reading a stream from another origin, with @fastify/cors, and what fails without it.' },
  { name: 'job-progress', title: 'Job progress', about: 'Start a job by POST and watch its progress bar, which survives a reload.' },
  { name: 'token-stream', title: 'Token stream', about: 'A generated answer token by token, with a Cancel button that stops the server side.' }
] as const

function indexPage (): string {
  const items = EXAMPLES.map(({ name, title, about }) =>
    `<li><a href="/${escapeHtml(name)}/">${escapeHtml(title)}</a><span>${escapeHtml(about)}</span></li>`)
  return renderPage('index', { title: 'Examples', base: '/' }).replace('<!--examples-->', () => items.join('\n'))
}

/** The demo's port: PORT, else 3000. */
export function portFrom (env: NodeJS.ProcessEnv): number {
  return Number(env.PORT ?? 3000)
}

/** Starts the demo: the index and the examples on `port`, the cross-origin streams on the next port. */
export async function start (options: StartOptions = {}): Promise<Demo> {
  const port = options.port ?? portFrom(process.env)
  const host = options.host ?? '127.0.0.1'
  const logger = options.logger ?? false
  const print = options.print ?? console.log
  const streams = Fastify({ logger })
  const app = Fastify({ logger })
  let pageOrigin = ''
  let streamOrigin: string
  try {
    // The second origin first: the cross-origin page needs its address.
    await streams.register(fastifySseHub, SSE_OPTIONS)
    await streams.register(crossOriginStream, {
      // The demo's pages, whichever name the browser used for the loopback address.
      allowOrigin: (origin) => origin === pageOrigin || origin === pageOrigin.replace('127.0.0.1', 'localhost')
    })
    streamOrigin = await streams.listen({ port: port === 0 ? 0 : port + 1, host })

    await app.register(fastifySseHub, SSE_OPTIONS)
    const home = '/'
    await app.register(clock, { prefix: '/clock', home })
    await app.register(chatRoom, { prefix: '/chat-room', home })
    await app.register(movement, { prefix: '/movement', home })
    await app.register(words, { prefix: '/words', home })
    await app.register(crossOriginPage, { prefix: '/cross-origin', home, streamOrigin })
    await app.register(jobProgress, { prefix: '/job-progress', home })
    await app.register(tokenStream, { prefix: '/token-stream', home })
    const index = indexPage()
    app.get('/', (request, reply) => { reply.type('text/html; charset=utf-8').send(index) })
    pageOrigin = await app.listen({ port, host })
  } catch (err) {
    await Promise.all([app.close(), streams.close()])
    throw err
  }
  const url = `${pageOrigin}/`
  print(`fastify-sse-hub demo: ${url} (cross-origin streams on ${streamOrigin})`)
  return {
    app,
    streams,
    url,
    async close () {
      await Promise.all([app.close(), streams.close()])
    }
  }
}

/* c8 ignore next 9 -- runs only as `npm start` / `tsx examples/server.ts` */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const demo = await start({ logger: { level: 'info' } })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      demo.close().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1) })
    })
  }
}
