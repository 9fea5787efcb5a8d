// Heartbeats: one unref'd timer per interval, shared by the streams that use it.
import t from 'tap'
import { Heartbeats } from '../lib/heartbeat.js'
import type { HeartbeatTarget } from '../lib/heartbeat.js'
import { until } from './helpers/build.js'

/** A target that counts its heartbeats. */
function target (): HeartbeatTarget & { beats: number } {
  return { lastTick: 0, beats: 0, heartbeat () { this.beats++ } }
}

t.test('a silent target gets a heartbeat every interval; one timer per interval, none for 0', async (t) => {
  const heartbeats = new Heartbeats()
  t.teardown(() => heartbeats.stop())
  const a = target()
  const b = target()
  const c = target()
  t.equal(heartbeats.add(c, 0), undefined, 'interval 0: no heartbeats, no ticker')
  const ticker = heartbeats.add(a, 8)
  t.equal(heartbeats.add(b, 8), ticker, 'the same interval shares one ticker')
  heartbeats.add(target(), 12)
  t.equal(heartbeats.timers, 2)
  await until(() => a.beats >= 2 && b.beats >= 2, 'two heartbeats each')
  t.equal(c.beats, 0)
})

t.test('a target that writes (records the tick) is not sent a heartbeat', async (t) => {
  const heartbeats = new Heartbeats()
  t.teardown(() => heartbeats.stop())
  const busy = target()
  const quiet = target()
  const ticker = heartbeats.add(busy, 8)
  heartbeats.add(quiet, 8)
  // Writing on every tick, as a stream that sends data does.
  await until(() => {
    busy.lastTick = ticker?.tick ?? 0
    return quiet.beats >= 3
  }, 'three heartbeats for the quiet target')
  t.equal(busy.beats, 0)
})

t.test('the timer stops by itself once its last target is removed', async (t) => {
  const heartbeats = new Heartbeats()
  t.teardown(() => heartbeats.stop())
  const a = target()
  heartbeats.add(a, 4)
  heartbeats.add(target(), 20)
  await until(() => a.beats >= 1, 'a heartbeat')
  heartbeats.remove(a, 4)
  heartbeats.remove(a, 999) // no ticker for that interval: nothing to do
  await until(() => heartbeats.timers === 1, 'the 4 ms timer to stop')
  const beats = a.beats
  // A new target on the same interval starts a fresh timer.
  const b = target()
  heartbeats.add(b, 4)
  t.equal(heartbeats.timers, 2)
  await until(() => b.beats >= 1, 'a heartbeat from the new timer')
  t.equal(a.beats, beats, 'the removed target got no more')
})

t.test('stop() clears every timer', async (t) => {
  const heartbeats = new Heartbeats()
  const a = target()
  heartbeats.add(a, 4)
  heartbeats.add(target(), 8)
  t.equal(heartbeats.timers, 2)
  heartbeats.stop()
  t.equal(heartbeats.timers, 0)
  // Another target on a fresh ticker proves time passed; the stopped one never beat again.
  const witness = new Heartbeats()
  t.teardown(() => witness.stop())
  const w = target()
  witness.add(w, 4)
  const before = a.beats
  await until(() => w.beats >= 3, 'three heartbeats on a live timer')
  t.equal(a.beats, before)
})
