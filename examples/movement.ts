// movement: resume driven by an application-defined id, without the hub. A box wanders at
// random inside an 800x600 area. Each event's id is the box's position "x,y", so when the
// connection drops the browser reconnects with `Last-Event-ID: x,y` and the walk goes on
// from where this page last saw the box, instead of jumping back to the centre.
//
// Try it:  npx tsx examples/server.ts   then open http://127.0.0.1:3000/movement/
//     or:  curl -N -H 'Last-Event-ID: 10,20' http://127.0.0.1:3000/movement/events
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { buildApp, servePage } from './common.js'
import type { AppOptions, PageOptions } from './common.js'

export const AREA = { width: 800, height: 600 } as const
/** The box's size: positions are its top-left corner, so it always stays inside the area. */
export const BOX = 40
/** The largest move per step, on each axis. */
export const STEP = 25

export interface Position { x: number, y: number }

export interface MovementOptions extends PageOptions {
  /** Milliseconds between moves (default 100). */
  interval?: number
  /** Returns a number in [0, 1) (default Math.random; tests pass a fixed sequence). */
  random?: () => number
}

const MAX_X = AREA.width - BOX
const MAX_Y = AREA.height - BOX
const CENTRE: Position = { x: MAX_X / 2, y: MAX_Y / 2 }

/** "x,y" -> a position inside the area, or undefined for anything else (a client may send any id). */
export function parsePosition (id: string | undefined): Position | undefined {
  const match = /^(\d{1,3}),(\d{1,3})$/.exec(id ?? '')
  if (match === null) return undefined
  const x = Number(match[1])
  const y = Number(match[2])
  return x <= MAX_X && y <= MAX_Y ? { x, y } : undefined
}

function clamp (value: number, max: number): number {
  return Math.min(max, Math.max(0, value))
}

/** One random step of at most STEP on each axis, kept inside the area. */
export function step (from: Position, random: () => number): Position {
  return {
    x: clamp(from.x + Math.round((random() * 2 - 1) * STEP), MAX_X),
    y: clamp(from.y + Math.round((random() * 2 - 1) * STEP), MAX_Y)
  }
}

export const movement: FastifyPluginAsync<MovementOptions> = async function movement (app, options) {
  const interval = options.interval ?? 100
  const random = options.random ?? Math.random

  servePage(app, 'movement', 'Movement', options, { width: String(AREA.width), height: String(AREA.height), box: String(BOX) })

  // No hub, no store: the id itself carries the state needed to resume.
  app.get('/events', (request, reply) =>
    reply.sse(async function * ({ signal, lastEventId }) {
      let position = parsePosition(lastEventId) ?? CENTRE
      while (true) {
        position = step(position, random)
        yield { id: `${position.x},${position.y}`, event: 'move', data: position }
        await sleep(interval, undefined, { signal })
      }
    }))
}

/** A standalone app serving the moving box at `/`. */
export async function build (options: MovementOptions & AppOptions = {}): Promise<FastifyInstance> {
  return buildApp(movement, options)
}
