// What the raw hypertables hold, all kinds together: how many samples (what the benchmark and
// the tests compare with what was sent) and the time they span (where a dashboard has data).
import type { Pool } from './pool.ts'
import { RAW_HYPERTABLES } from './policies.ts'

// One statement, so the four counts see one snapshot.
const COUNT_ALL = `select ${RAW_HYPERTABLES.map((table) => `(select count(*) from ${table})`).join(' + ')} as count`

export async function countStoredSamples(db: Pick<Pool, 'query'>): Promise<number> {
  const result = await db.query<{ count: string }>(COUNT_ALL)
  return Number(result.rows[0]!.count)
}

// least/greatest skip the NULL of an empty table; each min/max is a bound read of its index.
const TIME_SPAN = `select least(${RAW_HYPERTABLES.map((table) => `(select min(time) from ${table})`).join(', ')}) as first,
  greatest(${RAW_HYPERTABLES.map((table) => `(select max(time) from ${table})`).join(', ')}) as last`

/** The times of the oldest and the newest stored sample, or undefined when nothing is stored. */
export async function storedTimeSpan(db: Pick<Pool, 'query'>): Promise<{ first: Date; last: Date } | undefined> {
  const { first, last } = (await db.query<{ first: Date | null; last: Date | null }>(TIME_SPAN)).rows[0]!
  return first && last ? { first, last } : undefined
}
