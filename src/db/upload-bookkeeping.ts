// What the database keeps about each upload besides its samples, written in the upload's own
// transaction by one call of record_upload() (sql/022) for a whole group of uploads: the
// device's last-seen time per kind (device_last_seen, read by the device-silent alert and the
// dashboards instead of raw rows)
// and, for samples older than the refresh policies' window, the time range the continuous
// aggregates must be refreshed over (aggregate_backfill_ranges, sql/021).
//
//   await recordUploads(client, [{ deviceId, batch }])   // inside the uploads' transaction
import pg from 'pg'
import { SAMPLE_KINDS, timeSpan, type SampleBatch } from '../codec/index.ts'
import type { SampleKeyColumns } from '../codec/samples.ts'

export interface KindTimeRange {
  kind: string
  /** RFC 3339 with microseconds, exact: the database keeps microseconds. */
  first: string
  last: string
}

type Uploads = ReadonlyArray<{ deviceId: number; batch: SampleBatch }>

/** Notes the uploads' per-kind time ranges, in the transaction open on `client`. */
export async function recordUploads(client: Pick<pg.ClientBase, 'query'>, uploads: Uploads): Promise<void> {
  const statement = recordUploadsStatement(uploads)
  if (statement) await client.query(statement)
}

/**
 * The one statement that notes the uploads' per-kind time ranges, whatever the number of
 * uploads (a group commit's) and kinds; undefined when they hold no samples. Its arrays are
 * written into the SQL text (escaped as literals), not sent as parameters: a statement without
 * parameters can share a simple query with the COMMIT (transaction's `commitWith`, pool.ts).
 */
export function recordUploadsStatement(uploads: Uploads): string | undefined {
  const rows = uploads.flatMap(({ deviceId, batch }) => kindTimeRanges(batch).map((range) => ({ deviceId, ...range })))
  if (rows.length === 0) return undefined
  const array = (values: ReadonlyArray<string | number>, type: string) => `${pg.escapeLiteral(`{${values.join(',')}}`)}::${type}[]`
  return `select record_upload(${array(rows.map((row) => row.deviceId), 'int')}, ${array(rows.map((row) => row.kind), 'text')}, ${array(rows.map((row) => row.first), 'timestamptz')}, ${array(rows.map((row) => row.last), 'timestamptz')})`
}

/** The first and last sample time of each kind present in the batch. */
export function kindTimeRanges(batch: SampleBatch): KindTimeRange[] {
  const ranges: KindTimeRange[] = []
  for (const kind of SAMPLE_KINDS) {
    const columns: SampleKeyColumns = batch[kind]
    const span = timeSpan(columns)
    if (span) ranges.push({ kind, first: timestampText(columns, span.first), last: timestampText(columns, span.last) })
  }
  return ranges
}

function timestampText({ seconds, micros }: SampleKeyColumns, i: number): string {
  const whole = new Date(seconds[i]! * 1000).toISOString().slice(0, 19)
  return `${whole}.${String(micros[i]).padStart(6, '0')}Z`
}
