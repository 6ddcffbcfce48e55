// Compression and retention policies, from configuration (COMPRESS_AFTER,
// COMPRESS_ACCELERATION_AFTER, RETAIN_RAW, RETAIN_AGGREGATES). The ages are operator settings, not schema, so they are applied at every
// start instead of in a migration: a policy that matches is left alone, one whose age changed is
// removed and added again, one no longer wanted is removed. Running it twice changes nothing.
//
//   await applyStoragePolicies(pool, config, logger)
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import { transaction, withClient, type Pool } from './pool.ts'

export type StoragePolicySettings = Pick<Config, 'compressAfterMs' | 'compressAccelerationAfterMs' | 'retainRawMs' | 'retainAggregatesMs'>

/** The raw sample hypertables (sql/003): compressed after COMPRESS_AFTER, dropped after RETAIN_RAW. */
export const RAW_HYPERTABLES = ['location_samples', 'activity_samples', 'acceleration_samples', 'other_samples'] as const

/** Each table's compression age: sized to its data rate, like its chunk interval (sql/025). */
function compressAfterMs(table: (typeof RAW_HYPERTABLES)[number], settings: StoragePolicySettings): number {
  return table === 'acceleration_samples' ? settings.compressAccelerationAfterMs : settings.compressAfterMs
}

// Serializes replicas that start together (each would otherwise add the same policy).
const POLICY_LOCK_KEY = 0x7473_706f

export class StoragePolicyError extends Error {
  override name = 'StoragePolicyError'
}

interface PolicyKind {
  proc: 'policy_compression' | 'policy_retention'
  /** Key of the age in the job's config. */
  configKey: 'compress_after' | 'drop_after'
  add: string
  remove: string
}

const COMPRESSION: PolicyKind = {
  proc: 'policy_compression',
  configKey: 'compress_after',
  add: 'select add_compression_policy($1::regclass, compress_after => $2::interval, if_not_exists => true)',
  remove: 'select remove_compression_policy($1::regclass, if_exists => true)',
}

const RETENTION: PolicyKind = {
  proc: 'policy_retention',
  configKey: 'drop_after',
  add: 'select add_retention_policy($1::regclass, drop_after => $2::interval, if_not_exists => true)',
  remove: 'select remove_retention_policy($1::regclass, if_exists => true)',
}

export async function applyStoragePolicies(pool: Pool, settings: StoragePolicySettings, logger: Logger): Promise<void> {
  const changes = await withClient(pool, (client) =>
    transaction(client, async () => {
      await client.query('select pg_advisory_xact_lock($1)', [POLICY_LOCK_KEY])
      await assertRawOutlivesRefreshWindow(client, settings.retainRawMs)
      // Every continuous aggregate of the database: the ones of sql/010 and any added later.
      const aggregates = await client.query<{ name: string }>(
        "select format('%I.%I', view_schema, view_name) as name from timescaledb_information.continuous_aggregates order by 1",
      )
      const applied: string[] = []
      for (const table of RAW_HYPERTABLES) {
        applied.push(...(await ensurePolicy(client, COMPRESSION, table, compressAfterMs(table, settings))))
        applied.push(...(await ensurePolicy(client, RETENTION, table, settings.retainRawMs)))
      }
      for (const { name } of aggregates.rows) {
        applied.push(...(await ensurePolicy(client, RETENTION, name, settings.retainAggregatesMs)))
      }
      return applied
    }),
  )
  if (changes.length > 0) logger.info({ changes }, 'storage policies updated')
}

type Queryable = Pick<Pool, 'query'>

/** Makes `relation` have a `kind` policy of age `ageMs` (none when undefined); returns what it changed. */
async function ensurePolicy(db: Queryable, kind: PolicyKind, relation: string, ageMs: number | undefined): Promise<string[]> {
  const age = ageMs === undefined ? null : intervalText(ageMs)
  const existing = await db.query<{ same_age: boolean }>(
    `select (config ->> $3)::interval = $4::interval as same_age
     from timescaledb_information.jobs
     where proc_name = $1 and format('%I.%I', hypertable_schema, hypertable_name)::regclass = $2::regclass`,
    [kind.proc, relation, kind.configKey, age],
  )
  const job = existing.rows[0]
  if (age === null) {
    if (!job) return []
    await db.query(kind.remove, [relation])
    return [`${relation}: ${kind.proc} removed`]
  }
  if (job?.same_age) return []
  if (job) await db.query(kind.remove, [relation])
  await db.query(kind.add, [relation, age])
  return [`${relation}: ${kind.proc} ${kind.configKey} ${age}`]
}

/** `7 days`, `36 hours`, `90 seconds`: exact, and readable in timescaledb_information.jobs. */
function intervalText(ms: number): string {
  for (const [unitMs, unit] of [[86_400_000, 'days'], [3_600_000, 'hours'], [60_000, 'minutes'], [1000, 'seconds']] as const) {
    if (ms % unitMs === 0) return `${ms / unitMs} ${unit}`
  }
  return `${ms} milliseconds`
}

/**
 * A continuous-aggregate refresh over a range whose raw chunks were dropped would empty the
 * aggregates there, so raw data must be kept longer than the widest refresh window (sql/010).
 */
async function assertRawOutlivesRefreshWindow(db: Queryable, retainRawMs: number | undefined): Promise<void> {
  if (retainRawMs === undefined) return
  const result = await db.query<{ window_ms: string | null; window_text: string | null }>(
    `select (extract(epoch from max((config ->> 'start_offset')::interval)) * 1000)::bigint::text as window_ms,
            max((config ->> 'start_offset')::interval)::text as window_text
     from timescaledb_information.jobs where proc_name = 'policy_refresh_continuous_aggregate'`,
  )
  const row = result.rows[0]
  if (row?.window_ms != null && retainRawMs <= Number(row.window_ms)) {
    throw new StoragePolicyError(
      `RETAIN_RAW (${intervalText(retainRawMs)}) must be longer than the continuous aggregates' refresh window (${row.window_text}): ` +
        'a refresh over dropped raw data would empty the aggregates there.',
    )
  }
}
