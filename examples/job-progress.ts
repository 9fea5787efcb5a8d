// job-progress: a long job started by POST, watched through a progress bar that survives a
// reload. Each job publishes to its own hub channel, `job:<id>`. The stream route replays
// the channel from the job's first event (a fresh page, or a reload, sees all progress so
// far) or from Last-Event-ID (a reconnect gets just what it missed). Should the history be
// gone, the hub sends `reset` and the page reads the job's state from `GET /jobs/:id`.
//
// Try it:  npx tsx examples/server.ts   then open http://127.0.0.1:3000/job-progress/,
//          start a job and reload the page while it runs.
//     or:  curl -X POST http://127.0.0.1:3000/job-progress/jobs        -> {"id":"..."}
//          curl -N http://127.0.0.1:3000/job-progress/jobs/<id>/events
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { buildApp, servePage } from './common.js'
import type { AppOptions, PageOptions } from './common.js'

export interface JobProgressOptions extends PageOptions {
  /** Steps per job (default 50). */
  steps?: number
  /** Milliseconds per step (default 200). */
  stepMs?: number
  /** Jobs remembered at most; the oldest are forgotten first (default 100). */
  maxJobs?: number
}

export interface Job {
  id: string
  steps: number
  done: number
  /** Id of the job's first hub event: where a fresh page starts reading. */
  startId: string
}

export const jobProgress: FastifyPluginAsync<JobProgressOptions> = async function jobProgress (app, options) {
  const steps = options.steps ?? 50
  const stepMs = options.stepMs ?? 200
  const maxJobs = options.maxJobs ?? 100
  const jobs = new Map<string, Job>()
  const stop = new AbortController()
  app.addHook('onClose', async function stopJobs () { stop.abort() })

  servePage(app, 'job-progress', 'Job progress', options)

  const percent = (job: Job): number => Math.round(job.done / job.steps * 100)
  const state = (job: Job) => ({ id: job.id, percent: percent(job), finished: job.done === job.steps })

  /** The job itself: here it only sleeps; each step is published to the job's channel. */
  async function run (job: Job): Promise<void> {
    const channel = `job:${job.id}`
    while (job.done < job.steps) {
      await sleep(stepMs, undefined, { signal: stop.signal })
      job.done++
      await app.sseHub.publish(channel, { event: job.done === job.steps ? 'done' : 'progress', data: state(job) })
    }
  }

  app.post('/jobs', async (request, reply) => {
    const id = randomUUID().slice(0, 8)
    const { id: startId } = await app.sseHub.publish(`job:${id}`, { event: 'created', data: { id, steps } })
    const job: Job = { id, steps, done: 0, startId }
    jobs.set(id, job)
    if (jobs.size > maxJobs) jobs.delete(jobs.keys().next().value as string)
    run(job).catch((err: unknown) => {
      if (!stop.signal.aborted) request.log.error({ err, job: id }, 'job-progress: job failed')
    })
    return reply.code(201).send({ id })
  })

  app.get<{ Params: { id: string } }>('/jobs/:id', async (request, reply) => {
    const job = jobs.get(request.params.id)
    if (job === undefined) return reply.code(404).send({ error: 'no such job' })
    return state(job)
  })

  app.get<{ Params: { id: string } }>('/jobs/:id/events', (request, reply) => {
    const job = jobs.get(request.params.id)
    // A 404 makes the EventSource fail for good instead of retrying.
    if (job === undefined) return reply.code(404).send({ error: 'no such job' })
    return reply.sse(app.sseHub.subscribe(`job:${job.id}`, { lastEventId: request.lastEventId ?? job.startId }))
  })
}

/** A standalone app serving the job page at `/`. */
export async function build (options: JobProgressOptions & AppOptions = {}): Promise<FastifyInstance> {
  return buildApp(jobProgress, options)
}
