// The embedded engine's heap only grows: what one query may take is bounded by the settings
// pinned in src/db/embedded/memory-bounds.ts, so a large sort from any SQL client spills to
// temporary files instead of growing the heap for good.
import fs from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/db/embedded/index.ts'
import { createLogger } from '../src/logger.ts'
import { sqlClient } from './support/http.ts'
import { temporaryDir } from './support/service.ts'

let dataDir: string
let database: EmbeddedDatabase

beforeAll(async () => {
  dataDir = temporaryDir()
  database = await startEmbeddedDatabase({ dataDir, host: '127.0.0.1', port: 0, idleInTransactionTimeoutMs: 5000, maxMessageBytes: 64 * 1024 * 1024, password: undefined, fsync: true, logger: createLogger({ logLevel: 'silent' }) })
})

afterAll(async () => {
  await database?.close()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

const heapBytes = (): Promise<number> => database.engine.heapBytes()

it('a sort of a million wide rows from a SQL client leaves the heap where it was', async () => {
  const client = await sqlClient(database.url)
  try {
    expect((await client.query('show work_mem')).rows[0].work_mem).toBe('4MB')
    const before = await heapBytes()
    // About 70 MB of rows to sort: far beyond work_mem, so it runs as an external sort.
    const sorted = await client.query(`select count(*)::int as n from (select g, md5(g::text) as h from generate_series(1, 1000000) g order by h) s`)
    expect(sorted.rows[0].n).toBe(1_000_000)
    expect((await heapBytes()) - before).toBeLessThan(16 * 1024 * 1024)
  } finally {
    await client.end()
  }
})
