// JSON-lines sample files for tests that send a lot, with a checksum of what they hold that
// can be compared with the checksum of the stored rows.
import crypto from 'node:crypto'
import fs from 'node:fs'
import type pg from 'pg'

const START_SECONDS = Date.UTC(2024, 2, 1) / 1000

/** `count` samples: 50 Hz acceleration with a location every 500th; ids from `firstId`. */
export function writeSampleFile(file: string, count: number, firstId = 1): void {
  const lines: string[] = []
  for (let i = 0; i < count; i++) {
    const id = firstId + i
    const millis = i * 20
    const timestamp = new Date(START_SECONDS * 1000 + millis).toISOString()
    const data =
      i % 500 === 0
        ? { '@type': 'type.googleapis.com/Location', latitude: 52.5 + i / 1e6, longitude: 13.4 - i / 1e6 }
        : { '@type': 'type.googleapis.com/Acceleration', x: Math.sin(i) / 3, y: Math.cos(i) / 7, z: 1 + i / 1e5 }
    lines.push(JSON.stringify({ id: String(id), data, timestamp }))
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`)
}

/** Checksum of the files' samples: kind, id, time in ms and the values, ordered by id. */
export function fileChecksum(files: string[]): { count: number; sha256: string } {
  const rows: string[] = []
  for (const file of files) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue
      const sample = JSON.parse(line) as { id: string; timestamp: string; data: Record<string, unknown> }
      const { '@type': type, ...values } = sample.data
      const kind = String(type).split('/').pop()!.toLowerCase()
      rows.push(rowText(kind, sample.id, Date.parse(sample.timestamp), Object.values(values) as number[]))
    }
  }
  return digest(rows)
}

/** The same checksum over a device's stored rows. */
export async function storedChecksum(sql: pg.Client, deviceId: number): Promise<{ count: number; sha256: string }> {
  const result = await sql.query<{ kind: string; id: string; ms: string; a: number; b: number; c: number | null }>(
    `select 'location' as kind, sample_id::text as id, (extract(epoch from time) * 1000)::bigint::text as ms, latitude as a, longitude as b, null::float8 as c
       from location_samples where device_id = $1
     union all
     select 'acceleration', sample_id::text, (extract(epoch from time) * 1000)::bigint::text, x, y, z
       from acceleration_samples where device_id = $1`,
    [deviceId],
  )
  return digest(result.rows.map((row) => rowText(row.kind, row.id, Number(row.ms), [row.a, row.b, ...(row.c === null ? [] : [row.c])])))
}

function rowText(kind: string, id: string, ms: number, values: number[]): string {
  return `${kind}|${id}|${ms}|${values.join(',')}`
}

function digest(rows: string[]): { count: number; sha256: string } {
  rows.sort()
  return { count: rows.length, sha256: crypto.createHash('sha256').update(rows.join('\n')).digest('hex') }
}
