/** Copy jobs (README "Copy jobs"): create, list, read, pause, resume, cancel, run again, verify. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { RouteNotFound } from '../src/errors.js'
import { problems } from '../src/schemas/common.js'
import { Job, JobCreate, JobList, JobListQuery, JobParams } from '../src/schemas/job.js'

/** What pause and cancel do to a verification (`:verify`, or `verify: true` after a pass). */
const ABANDONS = ' During a verification (phase `verify`, queued or running) it abandons the verification only: ' +
  'the job goes back to the state it had before (`completed` or `failed`), its last finished `verification` kept.'
/** What resume, run and verify check first. */
const RECHECKS = ' The caller\'s allow-list must still admit both mailboxes (403 MBG_ERR_MAILBOX_FORBIDDEN).'

/** Largest `POST /jobs` body read, bytes (a job request is a few hundred). */
const JOB_BODY_LIMIT = 64 * 1024

const CONTROLS = {
  pause: 'Pause a job: a queued job stays put, a running one stops after the page of items in hand; a scheduled ' +
    'job waiting for its next pass stops its schedule.' + ABANDONS,
  resume: 'Resume a paused job: it is queued again and goes on where it stopped (a scheduled job paused between ' +
    'passes starts its next pass, and its schedule goes on).' + RECHECKS,
  cancel: 'Cancel a job that is not over, or a scheduled job between passes (its schedule ends); what was copied ' +
    'stays.' + ABANDONS,
  run: 'Run a completed or failed job again: a delta pass reads each folder\'s changes since the last pass — new ' +
    'items copied, changed ones updated in place (delete + create when the target copy is gone or changed), ' +
    'deleted ones deleted (soft) on the target, moved ones moved along (by search key; a Graph target, which has ' +
    'no move, deletes and imports). Counts: `done`, `updated`, `deleted`, `moved`.' + RECHECKS + ' The job counts ' +
    'against the client\'s active jobs again (409 MBG_ERR_JOB_LIMIT at MAX_ACTIVE_JOBS_PER_CLIENT).'
} as const

/** Job ids as the gateway makes them; the pattern ends the parameter before `:action` (find-my-way regex). */
const ID = ':id(^[A-Za-z0-9-]+)'

const jobs: FastifyPluginAsyncTypebox = async (fastify) => {
  // The router decodes a parameter before matching the rest of its segment, so `/jobs/{id}%3Arun` would reach
  // `:run`; the action is a literal part of the path, as `items:export` is (a percent-encoded colon finds no route
  // there either). After authentication, like any unknown route.
  fastify.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]
    if (/%3a/i.test(path)) throw new RouteNotFound(request.method, path)
  })

  fastify.post('/jobs', {
    config: { scope: 'jobs:write', audit: 'job.create' },
    // A job request is a few hundred bytes: a large body is refused before it is read (413), not parsed.
    bodyLimit: JOB_BODY_LIMIT,
    schema: {
      tags: ['jobs'],
      summary: 'Create a copy job',
      description: 'Copies a folder, a folder subtree or a whole mailbox into another mailbox (same or other ' +
        'backend): the folder tree first (well-known folders mapped, others found by name or created), then the ' +
        'items in full fidelity, in the background. Answers 202 with the job; follow it at `Location`. The ' +
        'caller\'s allow-list must admit both mailboxes. `dryRun` plans without writing. `delta: { everySeconds }` ' +
        '(≥ 60) schedules the job: after each completed pass it waits that long, then runs a delta pass (see ' +
        '`:run`) by itself, until paused or canceled. `source.subtree: false` needs a `source.folder`, and so does ' +
        '`target.folder` (a whole mailbox is copied below the target\'s root): 400 otherwise. A client may have ' +
        'MAX_ACTIVE_JOBS_PER_CLIENT jobs that are not over (queued, running, paused, scheduled between passes): 409 ' +
        'MBG_ERR_JOB_LIMIT past it.',
      operationId: 'createJob',
      body: Type.Ref(JobCreate),
      response: { 202: Type.Ref(Job), ...problems(400, 403, 404, 409, 413, 415, 422, 502, 503, 504) }
    }
  }, async (request, reply) => {
    const job = await fastify.jobService.create(request.body, request.caller)
    return await reply.code(202).header('location', `/jobs/${job.id}`).send(job)
  })

  fastify.get('/jobs', {
    config: { scope: 'jobs:read' },
    schema: {
      tags: ['jobs'],
      summary: 'List copy jobs',
      operationId: 'listJobs',
      querystring: JobListQuery,
      response: { 200: Type.Ref(JobList), ...problems(400) }
    }
  }, async (request) => await fastify.jobService.list(request.query, request.caller))

  fastify.get(`/jobs/${ID}`, {
    config: { scope: 'jobs:read' },
    schema: {
      tags: ['jobs'],
      summary: 'Get a copy job',
      description: 'State, per-folder counts (planned, done, failed, skipped), bytes, items per second, ETA and ' +
        'the first per-item failures with their codes; for a dry run, the plan.',
      operationId: 'getJob',
      params: JobParams,
      response: { 200: Type.Ref(Job), ...problems(400, 404) }
    }
  }, async (request) => await fastify.jobService.get(request.params.id, request.caller))

  for (const [action, description] of Object.entries(CONTROLS) as Array<[keyof typeof CONTROLS, string]>) {
    fastify.post(`/jobs/${ID}::${action}`, {
      config: { scope: 'jobs:write', audit: `job.${action}` },
      schema: {
        tags: ['jobs'],
        summary: `${action[0].toUpperCase()}${action.slice(1)} a copy job`,
        description,
        operationId: `${action}Job`,
        params: JobParams,
        response: { 200: Type.Ref(Job), ...problems(400, 403, 404, 409) }
      }
    }, async (request) => await fastify.jobService.control(request.params.id, action, request.caller))
  }

  fastify.post(`/jobs/${ID}::verify`, {
    config: { scope: 'jobs:write', audit: 'job.verify' },
    schema: {
      tags: ['jobs'],
      summary: 'Verify a copy job',
      description: 'Queues a verification of a completed or failed job (409 otherwise, and for a dry run): per ' +
        'mapped folder, the source and target folders are listed and compared — item counts and bytes, items ' +
        'matched by search key (PR_SEARCH_KEY), missing, extra and of another size — and graded like Exchange ' +
        'Online\'s DataConsistencyScore. Answers 202: the job is `queued`, then `running`, with phase `verify`, ' +
        'and goes back to its state with `verification` set. Pause or cancel abandon a verification: the job goes ' +
        'back to its state at once (a scheduled job\'s schedule goes on; pause or cancel it again to stop that).' +
        RECHECKS + ' A job that was over counts against the client\'s active jobs while it is verified (409 ' +
        'MBG_ERR_JOB_LIMIT).',
      operationId: 'verifyJob',
      params: JobParams,
      response: { 202: Type.Ref(Job), ...problems(400, 403, 404, 409) }
    }
  }, async (request, reply) => {
    const job = await fastify.jobService.verify(request.params.id, request.caller)
    return await reply.code(202).header('location', `/jobs/${job.id}`).send(job)
  })
}

export default jobs
