/**
 * The replay store: gives every hub event its id and keeps recent events per channel so a
 * client that reconnects with Last-Event-ID gets exactly what it missed.
 *
 * Contract (checked by `runReplayStoreContract` from `fastify-sse-hub/testing`):
 * - `append` assigns an id the store can later recognise; within a channel, ids follow
 *   append order, and appends made one after another resolve in that order.
 * - `readAfter` returns, oldest first, every event of the channel appended after the given
 *   id — or a gap when it cannot: the id is malformed, comes from another store or epoch
 *   (e.g. before a restart), or events after it are no longer retained. A store never
 *   throws for a bad id; it answers with a gap.
 * - Failures of the store itself (a lost connection) reject; the hub reports them as
 *   FST_SSE_STORE_UNAVAILABLE with the original error as `cause`.
 */
export interface NewEvent {
  /** Event name, already checked (no CR/LF). */
  event?: string
  /** Serialized data: always a string. */
  data: string
}

export interface StoredEvent extends NewEvent {
  /** Opaque, store-assigned id: no CR, LF or NUL. */
  id: string
}

/** Why a store cannot replay from an id. */
export type GapReason = 'malformed' | 'epoch' | 'expired' | 'unknown'

export type ReadAfterResult =
  | { gap: false, events: StoredEvent[] }
  | { gap: true, reason: GapReason }

export interface ReplayStore {
  /** Appends an event to a channel's history and resolves to it with its new id. */
  append (channel: string, event: NewEvent): Promise<StoredEvent>
  /** Every retained event after `lastEventId` in the channel, oldest first, or a gap. */
  readAfter (channel: string, lastEventId: string): Promise<ReadAfterResult>
  /**
   * Orders two ids this store issued for one channel: negative, zero or positive; undefined
   * when it cannot tell (e.g. a foreign id). Optional, but without it a resuming subscriber
   * can only recognise late live copies of the events it just replayed, not older ones.
   */
  compareIds? (a: string, b: string): number | undefined
  /** Releases what the store created (timers, connections it opened). Called on app close. */
  close? (): Promise<void>
}
