/**
 * One unref'd timer per heartbeat interval, shared by every stream using that interval.
 * A stream gets a `:` comment once it has been silent for a whole interval: the ticker
 * runs every quarter interval, so silence never lasts more than 1.25 intervals. Streams
 * record the tick of their last write (an integer), so writing costs no clock read.
 */
export interface HeartbeatTarget {
  /** The ticker's tick count at the stream's last write. */
  lastTick: number
  heartbeat (): void
}

const QUARTERS = 4

class Ticker {
  tick = 0
  readonly targets = new Set<HeartbeatTarget>()
  readonly timer: NodeJS.Timeout

  constructor (interval: number, onEmpty: () => void) {
    this.timer = setInterval(() => {
      this.tick++
      for (const target of this.targets) {
        if (this.tick - target.lastTick >= QUARTERS) target.heartbeat()
      }
      if (this.targets.size === 0) onEmpty()
    }, Math.max(1, Math.floor(interval / QUARTERS))).unref()
  }
}

export class Heartbeats {
  readonly #tickers = new Map<number, Ticker>()

  /** Starts heartbeats for a target; returns the ticker to read `tick` from, or undefined when off. */
  add (target: HeartbeatTarget, interval: number): { readonly tick: number } | undefined {
    if (interval === 0) return undefined
    let ticker = this.#tickers.get(interval)
    if (ticker === undefined) {
      ticker = new Ticker(interval, () => {
        clearInterval(ticker!.timer)
        this.#tickers.delete(interval)
      })
      this.#tickers.set(interval, ticker)
    }
    ticker.targets.add(target)
    target.lastTick = ticker.tick
    return ticker
  }

  remove (target: HeartbeatTarget, interval: number): void {
    this.#tickers.get(interval)?.targets.delete(target)
  }

  /** Number of running timers (for tests). */
  get timers (): number {
    return this.#tickers.size
  }

  stop (): void {
    for (const ticker of this.#tickers.values()) clearInterval(ticker.timer)
    this.#tickers.clear()
  }
}
