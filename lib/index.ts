import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import './types.js'
import { InProcessBackplane } from './backplane/backplane.js'
import { ConnectionRegistry } from './connection.js'
import { Heartbeats } from './heartbeat.js'
import { SseHub } from './hub.js'
import { readLastEventId } from './last-event-id.js'
import { resolveOptions } from './options.js'
import type { FastifySseHubOptions } from './options.js'
import { MemoryReplayStore } from './replay/memory-store.js'
import { createReplySse } from './reply-stream.js'

async function fastifySseHubPlugin (app: FastifyInstance, options: FastifySseHubOptions): Promise<void> {
  const resolved = resolveOptions(options)
  const registry = new ConnectionRegistry()
  const heartbeats = new Heartbeats()
  const hub = new SseHub({
    store: options.replayStore ?? new MemoryReplayStore(),
    backplane: options.backplane ?? new InProcessBackplane(),
    serialize: resolved.serialize,
    maxBufferedBytes: resolved.maxBufferedBytes,
    log: app.log
  })
  await hub.start()

  app.decorate('sseHub', hub)
  app.decorateReply('sse', createReplySse({ options: resolved, registry, heartbeats }))
  app.decorateRequest('lastEventId', {
    getter (this: FastifyRequest): string | undefined {
      const query = this.query as Record<string, unknown> | null | undefined
      const { value, rejected } = readLastEventId(this.headers['last-event-id'], typeof query === 'object' ? query?.lastEventId : undefined)
      if (rejected !== undefined) this.log.debug(rejected, 'fastify-sse-hub: Last-Event-ID ignored')
      return value
    }
  })

  // End every live stream before the server closes, or app.close() waits on them.
  app.addHook('preClose', async function endStreams () {
    await registry.closeAll()
  })
  app.addHook('onClose', async function closeHub () {
    heartbeats.stop()
    await hub.close()
  })
}

/** The plugin: `app.register(fastifySseHub, options)`. */
export const fastifySseHub = fp(fastifySseHubPlugin, { fastify: '5.x', name: 'fastify-sse-hub' })
export default fastifySseHub

export type { FastifySseHubOptions, SseReplyOptions } from './options.js'
export { DEFAULTS } from './options.js'
export { errorCodes } from './errors.js'
export type { ErrorCode } from './errors.js'
export { encodeMessage, encodeData, encodeComment, HEARTBEAT } from './encoder.js'
export type { SseMessage, SseInput, Serializer } from './encoder.js'
export type { SseContext, SseSource, SseIterable } from './reply-stream.js'
export type { SseEventMap, SseEventOf } from './types.js'
export { SseHub } from './hub.js'
export type { HubStats, PublishMessage, SseHubOptions } from './hub.js'
export { Subscription } from './subscription.js'
export type { HubEvent, SubscribeOptions } from './subscription.js'
export { MemoryReplayStore } from './replay/memory-store.js'
export type { MemoryReplayStoreOptions } from './replay/memory-store.js'
export type { ReplayStore, NewEvent, StoredEvent, GapReason, ReadAfterResult } from './replay/store.js'
export { RedisReplayStore } from './replay/redis-store.js'
export type { RedisReplayStoreOptions } from './replay/redis-store.js'
export { InProcessBackplane } from './backplane/backplane.js'
export { RedisBackplane } from './backplane/redis.js'
export type { RedisBackplaneOptions } from './backplane/redis.js'
export type { Backplane, Deliver } from './backplane/backplane.js'
export { readLastEventId, MAX_LAST_EVENT_ID_BYTES } from './last-event-id.js'
