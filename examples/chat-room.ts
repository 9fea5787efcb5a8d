// chat-room: broadcast through the hub. A page POSTs a name and a message; every open page
// receives it as an SSE event. The hub gives each message an id; a page that loses its
// connection reconnects with Last-Event-ID and gets exactly the messages it missed, then
// live ones (or a `reset` event when they are no longer retained).
//
// Try it:  npx tsx examples/server.ts   then open http://127.0.0.1:3000/chat-room/ in two windows
//     or:  curl -N http://127.0.0.1:3000/chat-room/events
//          curl -H 'content-type: application/json' -d '{"name":"ada","text":"hi"}' http://127.0.0.1:3000/chat-room/messages
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { buildApp, servePage } from './common.js'
import type { AppOptions, PageOptions } from './common.js'

export interface ChatRoomOptions extends PageOptions {
  /** The hub channel of the room (default 'chat'). */
  channel?: string
  /** The clock stamped on each message (tests pass a fixed one). */
  now?: () => Date
}

/** What a page receives in each `message` event. */
export interface ChatMessage {
  name: string
  text: string
  time: string
}

const messageBody = {
  type: 'object',
  required: ['name', 'text'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 40 },
    text: { type: 'string', minLength: 1, maxLength: 500 }
  }
} as const

export const chatRoom: FastifyPluginAsync<ChatRoomOptions> = async function chatRoom (app, options) {
  const channel = options.channel ?? 'chat'
  const now = options.now ?? (() => new Date())

  servePage(app, 'chat-room', 'Chat room', options)

  // Every page subscribes to the room. request.lastEventId is the Last-Event-ID header the
  // browser sends when it reconnects: the hub replays what came after it, then goes live.
  app.get('/events', (request, reply) =>
    reply.sse(app.sseHub.subscribe(channel, { lastEventId: request.lastEventId })))

  // Posting a message publishes it to every subscriber; the store assigns its id.
  app.post<{ Body: { name: string, text: string } }>('/messages', { schema: { body: messageBody } }, async (request, reply) => {
    const { name, text } = request.body
    const message: ChatMessage = { name, text, time: now().toISOString() }
    const { id } = await app.sseHub.publish(channel, { event: 'message', data: message })
    return reply.code(201).send({ id })
  })
}

/** A standalone app serving the chat room at `/`. */
export async function build (options: ChatRoomOptions & AppOptions = {}): Promise<FastifyInstance> {
  return buildApp(chatRoom, options)
}
