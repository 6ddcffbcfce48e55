// How many samples the raw hypertables hold, all kinds together: what the benchmark and the
// tests compare with what was sent (nothing stored twice, nothing of a refused upload stored).
import type { Pool } from './pool.ts'
import { RAW_HYPERTABLES } from './policies.ts'

// One statement, so the four counts see one snapshot.
const COUNT_ALL = `select ${RAW_HYPERTABLES.map((table) => `(select count(*) from ${table})`).join(' + ')} as count`

export async function countStoredSamples(db: Pick<Pool, 'query'>): Promise<number> {
  const result = await db.query<{ count: string }>(COUNT_ALL)
  return Number(result.rows[0]!.count)
}
