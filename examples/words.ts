// words: a stream with an end that only the client can call. The server sends
// "The quick brown fox jumps over the lazy dog." one word a second. An EventSource
// reconnects whenever a stream ends, so ending the response would replay the sentence
// forever: instead the page closes its EventSource when it sees the final '.', and the
// server notices the disconnect (the generator's `finally` runs and logs it).
//
// Try it:  npx tsx examples/server.ts   then open http://127.0.0.1:3000/words/
//          and watch the server log "words: client closed the stream".
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { buildApp, servePage } from './common.js'
import type { AppOptions, PageOptions } from './common.js'

export const SENTENCE = 'The quick brown fox jumps over the lazy dog.'

const WORDS = SENTENCE.split(' ')

/** How many words a client already has, from its Last-Event-ID (0 when absent or not a word count). */
export function resumeAt (lastEventId: string | undefined): number {
  const count = /^\d{1,2}$/.test(lastEventId ?? '') ? Number(lastEventId) : 0
  return count <= WORDS.length ? count : 0
}

export interface WordsOptions extends PageOptions {
  /** Milliseconds between words (default 1000). */
  interval?: number
}

export const words: FastifyPluginAsync<WordsOptions> = async function words (app, options) {
  const interval = options.interval ?? 1_000

  servePage(app, 'words', 'Words', options)

  app.get('/events', (request, reply) =>
    reply.sse(async function * ({ signal, lastEventId }) {
      // Ids count words: a page that lost its connection mid-sentence resumes after the last word it got.
      let sent = resumeAt(lastEventId)
      try {
        for (const word of WORDS.slice(sent)) {
          yield { id: sent + 1, event: 'word', data: word }
          sent++
          await sleep(interval, undefined, { signal })
        }
        // Everything is sent. Keep the response open (heartbeats still flow) and let the
        // client close it; it is the only one that knows it has had enough.
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      } finally {
        // Runs when the client goes away, whether it got the whole sentence or not.
        request.log.info({ words: sent }, 'words: client closed the stream')
      }
    }))
}

/** A standalone app serving the words page at `/`. */
export async function build (options: WordsOptions & AppOptions = {}): Promise<FastifyInstance> {
  return buildApp(words, options)
}
