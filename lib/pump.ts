import { setImmediate as nextMacrotask } from 'node:timers/promises'
import { encodeMessage } from './encoder.js'
import type { Serializer } from './encoder.js'
import { kClose, kPull } from './connection.js'
import type { CloseReason, SseConnection } from './connection.js'

/** Frames written in a row before the pump lets the event loop run (a source that never awaits I/O must not starve the server). */
const FRAMES_PER_TURN = 1024

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>

/**
 * Drives an (async) iterable into a connection: pulls only while the socket takes more,
 * encodes each message whole, ends the stream when the source ends, and on any failure
 * (source throws, bad message, serializer error) logs it and ends the stream cleanly.
 * When the connection closes first, `return()` runs on the iterator (a generator's
 * `finally` executes; a parked one is reached through the connection's signal).
 */
export function pump (connection: SseConnection, iterable: Iterable<unknown> | AsyncIterable<unknown>, serialize: Serializer): void {
  const isAsync = Symbol.asyncIterator in iterable
  let iterator: AnyIterator | undefined
  let pulling = false
  /** The stream asked for more while a pull was under way (it asks once, until the next push). */
  let wanted = false
  let finished = false
  /** Frames since the event loop last ran: counted across pulls, as the stream may call pull() again synchronously. */
  let written = 0

  const fail = (err: unknown): void => {
    connection.log.error({ err }, 'fastify-sse-hub: event source failed; stream ended')
    connection.finish()
  }

  const pull = async (): Promise<void> => {
    pulling = true
    try {
      iterator ??= isAsync
        ? (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        : (iterable as Iterable<unknown>)[Symbol.iterator]()
      while (!connection.stopped) {
        const result = isAsync ? await iterator.next() : (iterator as Iterator<unknown>).next()
        if (connection.stopped) break
        if (result.done === true) {
          finished = true
          connection.finish()
          break
        }
        let frame: string
        try {
          frame = encodeMessage(result.value, serialize)
        } catch (err) {
          fail(err)
          break
        }
        wanted = false
        const more = frame === '' || connection.send(frame)
        // Every item counts, even when the stream then asks us to pause: the stream may call
        // pull() again in the same tick, and this is what lets the event loop run.
        if (++written === FRAMES_PER_TURN) {
          written = 0
          await nextMacrotask()
        }
        if (!more && !wanted) break
      }
    } catch (err) {
      finished = true
      // Once the stream has stopped, a rejection is the source reacting to our abort: expected.
      if (connection.stopped) connection.log.debug({ err }, 'fastify-sse-hub: event source ended after the stream closed')
      else fail(err)
    } finally {
      pulling = false
    }
  }

  connection.attach({
    [kPull] () {
      if (pulling) wanted = true
      else if (!finished) pull() // never rejects: pull() catches everything
    },
    [kClose] (reason: CloseReason) {
      if (finished || iterator?.return === undefined) return
      finished = true
      const log = connection.log
      try {
        const settled = iterator.return()
        if (isAsync) {
          (settled as Promise<unknown>).then(undefined, (err: unknown) => {
            log.error({ err, reason }, 'fastify-sse-hub: event source failed while closing')
          })
        }
      } catch (err) {
        log.error({ err, reason }, 'fastify-sse-hub: event source failed while closing')
      }
    }
  })
}
