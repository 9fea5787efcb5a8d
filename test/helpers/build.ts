import Fastify from 'fastify'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import fastifySseHub from '../../lib/index.js'
import type { FastifySseHubOptions } from '../../lib/index.js'

export interface Teardown {
  teardown (fn: () => unknown): void
}

export interface LogLine {
  level: number
  msg: string
  err?: { code?: string, message?: string, type?: string }
  [key: string]: unknown
}

/** An app with the plugin registered, closed when the test ends; its log lines are collected. */
export async function build (t: Teardown, options: FastifySseHubOptions = {}, server: FastifyServerOptions = {}): Promise<FastifyInstance & { logs: LogLine[] }> {
  const logs: LogLine[] = []
  const app = Fastify({
    logger: { level: 'debug', stream: { write: (line: string) => { logs.push(JSON.parse(line) as LogLine) } } },
    ...server
  })
  await app.register(fastifySseHub, options)
  t.teardown(() => app.close())
  const withLogs = app as unknown as FastifyInstance & { logs: LogLine[] }
  withLogs.logs = logs
  return withLogs
}

/** Resolves once `check()` is true, re-checking on every turn of the event loop; fails after `timeout` ms. */
export async function until (check: () => boolean, what: string, timeout = 5_000): Promise<void> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Collects unhandled rejections and uncaught exceptions until the test ends ("never a crash"). */
export function trackCrashes (t: Teardown): unknown[] {
  const crashes: unknown[] = []
  const onCrash = (err: unknown): void => { crashes.push(err) }
  process.on('unhandledRejection', onCrash)
  process.on('uncaughtException', onCrash)
  t.teardown(() => {
    process.off('unhandledRejection', onCrash)
    process.off('uncaughtException', onCrash)
  })
  return crashes
}
