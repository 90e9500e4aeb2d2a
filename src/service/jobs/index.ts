/** Copy jobs: the API's service, the runner, the copy pass and the JSON they keep. */
export { JobService, jobView, type CopyJob, type CopyJobRequest, type JobControl, type JobView } from './service.js'
export {
  JobRunner, DEFAULT_JOB_CONCURRENCY, DEFAULT_JOB_LEASE_MS, DEFAULT_JOB_POLL_MS, type JobRunnerOptions
} from './runner.js'
export { runCopyPass, FEED_PAGE_SIZE, type CopyContext, type PassOutcome } from './copy.js'
export * from './types.js'
