// token-stream: a generated answer streamed token by token, the way chat assistants do it
// (the "model" here is simulated: a canned answer cut into word-sized tokens). The page can
// stop the answer: its Cancel button closes the EventSource, the server sees the client
// leave and the generator's `finally` runs (a real model call would be aborted there,
// through `signal`). Ids count tokens, so a dropped connection resumes mid-answer.
//
// Try it:  npx tsx examples/server.ts   then open http://127.0.0.1:3000/token-stream/
//     or:  curl -N 'http://127.0.0.1:3000/token-stream/answer?q=What+is+SSE%3F'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { buildApp, servePage } from './common.js'
import type { AppOptions, PageOptions } from './common.js'

export interface TokenStreamOptions extends PageOptions {
  /** Milliseconds between tokens (default 60). */
  interval?: number
}

const ANSWER = 'Server-Sent Events are a plain HTTP response that never ends: the server writes ' +
  'one small text frame per event and the browser\'s EventSource hands each one to the page. ' +
  'They flow in one direction, pass through proxies, and reconnect by themselves, sending ' +
  'Last-Event-ID so the server can pick up where the client left off.'

/** The simulated model: the answer to a question, cut into tokens (words with their leading space). */
export function tokenize (question: string): string[] {
  return `You asked: "${question}". ${ANSWER}`.match(/\s*\S+/g) as string[]
}

/** Tokens a client already has, from its Last-Event-ID (0 when absent or not a token count). */
export function resumeAt (lastEventId: string | undefined, total: number): number {
  const count = /^\d{1,6}$/.test(lastEventId ?? '') ? Number(lastEventId) : 0
  return count <= total ? count : 0
}

const answerQuery = {
  type: 'object',
  required: ['q'],
  properties: { q: { type: 'string', minLength: 1, maxLength: 200 } }
} as const

export const tokenStream: FastifyPluginAsync<TokenStreamOptions> = async function tokenStream (app, options) {
  const interval = options.interval ?? 60

  servePage(app, 'token-stream', 'Token stream', options)

  app.get<{ Querystring: { q: string } }>('/answer', { schema: { querystring: answerQuery } }, (request, reply) =>
    reply.sse(async function * ({ signal, lastEventId }) {
      const tokens = tokenize(request.query.q)
      let sent = resumeAt(lastEventId, tokens.length)
      try {
        while (sent < tokens.length) {
          await sleep(interval, undefined, { signal }) // "thinking"
          yield { id: sent + 1, event: 'token', data: tokens[sent] }
          sent++
        }
        // The page closes its EventSource on `done`, before the browser could reconnect.
        yield { event: 'done', data: { tokens: sent } }
      } finally {
        // Runs on completion and on cancel alike: release whatever the generation holds.
        request.log.info({ tokens: sent, of: tokens.length, cancelled: sent < tokens.length }, 'token-stream: answer stream closed')
      }
    }))
}

/** A standalone app serving the token stream page at `/`. */
export async function build (options: TokenStreamOptions & AppOptions = {}): Promise<FastifyInstance> {
  return buildApp(tokenStream, options)
}
