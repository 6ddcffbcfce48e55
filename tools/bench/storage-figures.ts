// Bytes per sample of each raw hypertable, as stored (tables, indexes, TOAST; compressed
// chunks at their compressed size) and what the compressed chunks took before compression.
import type { Pool } from '../../src/db/pool.ts'
import { RAW_HYPERTABLES } from '../../src/db/policies.ts'

export interface StorageFigure {
  table: string
  rows: number
  bytes: number
  compressedChunks: number
  /** Compressed chunks: total bytes before and after compression (null without any). */
  beforeCompression: number | null
  afterCompression: number | null
}

export async function storageFigures(pool: Pool): Promise<StorageFigure[]> {
  const figures: StorageFigure[] = []
  for (const table of RAW_HYPERTABLES) {
    const result = await pool.query<{ rows: string; bytes: string; chunks: string; before: string | null; after: string | null }>(
      `select (select count(*) from ${table})::text as rows,
              (select total_bytes from hypertable_detailed_size('${table}'))::text as bytes,
              (select count(*) from timescaledb_information.chunks where hypertable_name = '${table}' and is_compressed)::text as chunks,
              (select sum(before_compression_total_bytes) from chunk_compression_stats('${table}'))::text as before,
              (select sum(after_compression_total_bytes) from chunk_compression_stats('${table}'))::text as after`,
    )
    const row = result.rows[0]!
    figures.push({
      table,
      rows: Number(row.rows),
      bytes: Number(row.bytes),
      compressedChunks: Number(row.chunks),
      beforeCompression: row.before === null ? null : Number(row.before),
      afterCompression: row.after === null ? null : Number(row.after),
    })
  }
  return figures
}

export function formatStorage(figures: StorageFigure[]): string {
  const lines = ['| table | rows | bytes/sample uncompressed | bytes/sample as stored | compressed chunks |', '| --- | ---: | ---: | ---: | ---: |']
  for (const f of figures) {
    if (f.rows === 0) continue
    // What the table would take with no chunk compressed: compressed chunks at their size before.
    const uncompressed = f.bytes - (f.afterCompression ?? 0) + (f.beforeCompression ?? 0)
    lines.push(`| ${f.table} | ${f.rows} | ${(uncompressed / f.rows).toFixed(1)} | ${(f.bytes / f.rows).toFixed(1)} | ${f.compressedChunks} |`)
  }
  return lines.join('\n')
}
