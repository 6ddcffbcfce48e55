// TimescaleDB's background jobs (compression, retention, continuous-aggregate refreshes), as
// counters of runs and failures by procedure and hypertable. A failing compression job only
// shows as a growing disk otherwise.
//
// Where the numbers come from depends on who runs the jobs:
// - the embedded database has no scheduler: the service's job runner runs them and reports
//   each run here (`timescaleJobRunCounter`);
// - a TimescaleDB server runs them itself and keeps totals in timescaledb_information.job_stats,
//   read at each scrape (`observeTimescaleJobStats`).
// Both export the same series, so dashboards and alerts work on either.
import type { Meter } from '@opentelemetry/api'
import type pg from 'pg'

/** One finished run, as the job runner reports it. */
export interface TimescaleJobRun {
  procName: string
  /** `schema.table` of the hypertable (or continuous aggregate) the job works on. */
  relation: string | null
  failed: boolean
}

export interface TimescaleJobMetrics {
  /** Counters for the embedded job runner; hand the result to startJobRunner's onJobRun. */
  timescaleJobRunCounter(): (run: TimescaleJobRun) => void
  /** Reads job_stats of a TimescaleDB server at each scrape. Call once. */
  observeTimescaleJobStats(pool: Pick<pg.Pool, 'query'>): void
}

const RUNS = { name: 'timescaledb.job.runs', description: 'Runs of TimescaleDB background jobs, by procedure and hypertable.', unit: '{run}' }
const FAILURES = { name: 'timescaledb.job.failures', description: 'Failed runs of TimescaleDB background jobs, by procedure and hypertable.', unit: '{run}' }

function jobAttributes(procName: string, relation: string | null): Record<string, string> {
  return relation ? { proc_name: procName, hypertable: relation } : { proc_name: procName }
}

interface JobStatsRow {
  proc_name: string
  relation: string | null
  total_runs: string
  total_failures: string
}

export function timescaleJobMetrics(meter: Meter): TimescaleJobMetrics {
  return {
    timescaleJobRunCounter() {
      const runs = meter.createCounter(RUNS.name, RUNS)
      const failures = meter.createCounter(FAILURES.name, FAILURES)
      // At 0 before the first run, like every other counter.
      runs.add(0)
      failures.add(0)
      return ({ procName, relation, failed }) => {
        const attributes = jobAttributes(procName, relation)
        runs.add(1, attributes)
        // Counted at 0 for jobs that never failed, so increase() sees their first failure.
        failures.add(failed ? 1 : 0, attributes)
      }
    },
    observeTimescaleJobStats(pool) {
      const runs = meter.createObservableCounter(RUNS.name, RUNS)
      const failures = meter.createObservableCounter(FAILURES.name, FAILURES)
      meter.addBatchObservableCallback(
        async (result) => {
          const { rows } = await pool.query<JobStatsRow>(
            `select j.proc_name,
                    case when j.hypertable_name is not null then format('%I.%I', j.hypertable_schema, j.hypertable_name) end as relation,
                    s.total_runs, s.total_failures
             from timescaledb_information.jobs j
             join timescaledb_information.job_stats s using (job_id)`,
          )
          // Two jobs of one procedure on one hypertable are one series.
          const totals = new Map<string, { attributes: Record<string, string>; runs: number; failures: number }>()
          for (const row of rows) {
            const attributes = jobAttributes(row.proc_name, row.relation)
            const key = JSON.stringify(attributes)
            const total = totals.get(key) ?? { attributes, runs: 0, failures: 0 }
            total.runs += Number(row.total_runs)
            total.failures += Number(row.total_failures)
            totals.set(key, total)
          }
          for (const total of totals.values()) {
            result.observe(runs, total.runs, total.attributes)
            result.observe(failures, total.failures, total.attributes)
          }
        },
        [runs, failures],
      )
    },
  }
}
