// A real Redis for tests: REDIS_URL when set, otherwise a private `redis-server` on a free
// loopback port in a temp dir, persistence off. A missing binary skips locally (with the
// reason) and fails under CI=true. `ownRedis()` always starts a private server, which the
// failure tests kill and restart on the same port.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { Redis } from 'ioredis'

const BINARY = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server'

interface Teardown { teardown (fn: () => unknown): void }

/** Why the Redis tests cannot run here, or false when they can. Throws under CI=true. */
export function redisSkipReason (needOwnServer = false): string | false {
  if (!needOwnServer && process.env.REDIS_URL !== undefined) return false
  if (existsSync(BINARY)) return false
  const reason = `redis-server not found at ${BINARY}: install the redis-server package or set REDIS_URL`
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: Redis tests must run)`)
  return reason
}

async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

export class RedisServer {
  readonly port: number
  readonly dir: string
  #child: ChildProcess | undefined

  constructor (port: number) {
    this.port = port
    this.dir = mkdtempSync(join(tmpdir(), 'sse-redis-'))
  }

  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Starts redis-server and resolves once it accepts connections. */
  async start (): Promise<void> {
    const child = spawn(BINARY, [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
      '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'notice'
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString()
        if (output.includes('Ready to accept connections')) {
          child.stdout?.off('data', onData)
          child.off('exit', onExit)
          child.stdout?.resume()
          resolve()
        }
      }
      const onExit = (code: number | null): void => {
        reject(new Error(`redis-server exited with ${code}: ${output}`))
      }
      child.stdout?.on('data', onData)
      child.once('exit', onExit)
    })
  }

  /** Kills the server (SIGKILL: no goodbye to clients) and resolves once it exited. */
  async kill (): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (child === undefined || child.exitCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }

  /** Starts again on the same port, empty (no persistence): like a crashed cache. */
  async restart (): Promise<void> {
    await this.kill()
    await this.start()
  }

  async stop (): Promise<void> {
    await this.kill()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Starts a private redis-server for this test file; stopped at teardown. */
export async function ownRedis (t: Teardown): Promise<RedisServer> {
  const server = new RedisServer(await freePort())
  await server.start()
  t.teardown(() => server.stop())
  return server
}

/** The Redis URL to use: REDIS_URL, or a private server started for this test file. */
export async function redisUrl (t: Teardown): Promise<string> {
  if (process.env.REDIS_URL !== undefined) return process.env.REDIS_URL
  return (await ownRedis(t)).url
}

/** A connected ioredis client (retrying fast), disconnected at teardown. */
export async function connect (t: Teardown, url: string): Promise<Redis> {
  const client = new Redis(url, { retryStrategy: () => 50, maxRetriesPerRequest: 2 })
  client.on('error', () => {})
  t.teardown(() => { client.disconnect() })
  if (client.status !== 'ready') await once(client, 'ready')
  return client
}

/** A key prefix no other test shares. */
export function uniquePrefix (label = 't'): string {
  return `sse-test:${label}:${randomUUID().slice(0, 8)}:`
}

/** Resolves when `condition()` holds, polling every `everyMs`; rejects after `timeoutMs`. */
export async function waitFor (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}
