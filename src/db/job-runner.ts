// Runs TimescaleDB's jobs (continuous-aggregate refreshes, compression, retention) in the
// embedded database, which has no background workers: there the policies are registered but
// nothing would ever fire them. A real TimescaleDB server runs them itself; do not start this
// against one (DATABASE_URL set), or every job would run twice.
//
// Each job runs as its own `CALL run_job(id)` statement outside any transaction block
// (refresh_continuous_aggregate refuses one), one job at a time, first right after start (so
// a restart catches up on everything) and then every schedule_interval. Run times are kept in
// memory: run_job records no job statistics, and a job that runs early after a restart is
// harmless (each is idempotent).
//
//   const jobs = startJobRunner(pool, logger)
//   ...
//   await jobs.stop()   // waits for a running job to finish
import type { Logger } from '../logger.ts'
import type { Pool } from './pool.ts'

export interface JobRunner {
  /** Stops scheduling and waits for the job that is running, if any. */
  stop(): Promise<void>
}

export interface JobRunnerOptions {
  /** How often the job list is read and due jobs are run. */
  tickMs?: number
  /** Told of every finished run (the service counts them for /metrics). */
  onJobRun?: (run: { procName: string; relation: string | null; failed: boolean }) => void
}

interface ScheduledJob {
  job_id: number
  proc_name: string
  relation: string | null
  schedule_ms: number
}

export function startJobRunner(pool: Pick<Pool, 'query'>, logger: Logger, options: JobRunnerOptions = {}): JobRunner {
  const tickMs = options.tickMs ?? 10_000
  const lastStartedAt = new Map<number, number>()
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()

  async function runDueJobs(): Promise<void> {
    const jobs = await pool.query<ScheduledJob>(
      `select job_id, proc_name,
              case when hypertable_name is not null then format('%I.%I', hypertable_schema, hypertable_name) end as relation,
              (extract(epoch from schedule_interval) * 1000)::float8 as schedule_ms
       from timescaledb_information.jobs
       where scheduled
       order by job_id`,
    )
    for (const job of jobs.rows) {
      if (stopped) return
      const last = lastStartedAt.get(job.job_id)
      if (last !== undefined && Date.now() - last < job.schedule_ms) continue
      lastStartedAt.set(job.job_id, Date.now())
      const started = Date.now()
      try {
        await pool.query('call run_job($1)', [job.job_id])
        logger.debug({ job: job.job_id, proc: job.proc_name, relation: job.relation, ms: Date.now() - started }, 'timescaledb job ran')
        options.onJobRun?.({ procName: job.proc_name, relation: job.relation, failed: false })
      } catch (error) {
        options.onJobRun?.({ procName: job.proc_name, relation: job.relation, failed: true })
        // Logged and retried on the next schedule: one failing job must not stop the others.
        logger.warn({ err: error, job: job.job_id, proc: job.proc_name, relation: job.relation }, 'timescaledb job failed')
      }
    }
  }

  function tick(): void {
    running = runDueJobs()
      .catch((error: unknown) => logger.warn({ err: error }, 'timescaledb job list unavailable'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, tickMs).unref()
      })
  }

  tick()
  return {
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}
