// The database the bench loads directly (the limit) and through the writer: a fresh embedded
// TimescaleDB in this process, or the server named by --database-url. Either way the schema
// is the service's own (the migrations), so the direct load fills the same hypertables with
// the same indexes the service writes to.
import type { CountsByKind, SampleBatch } from '../../src/codec/index.ts'
import type { Engine } from '../../src/db/embedded/engine.ts'
import type { Logger } from '../../src/logger.ts'
import { startEmbeddedDatabase } from '../../src/db/embedded/index.ts'
import { migrate } from '../../src/db/migrate.ts'
import { RAW_HYPERTABLES } from '../../src/db/policies.ts'
import { createPool, type Pool } from '../../src/db/pool.ts'
import { sampleWriter } from '../../src/db/sample-writer.ts'
import { defaultWriteGroupsInFlight } from '../../src/config.ts'

export interface BenchDatabase {
  /** `embedded` (PGlite in this process) or `server` (--database-url). */
  kind: 'embedded' | 'server'
  /** postgres:// URL of the database (the embedded one's wire server, or --database-url). */
  url: string
  pool: Pool
  /** The embedded engine (PGlite in its thread), for its bulk path (COPY FROM '/dev/blob'); embedded only. */
  pglite: Engine | undefined
  /** The service's writer on this database, with its default WRITE_GROUPS_IN_FLIGHT for this kind of database. */
  writeSamples(deviceId: number, batch: SampleBatch): Promise<CountsByKind>
  /** Empties the sample hypertables, so every measurement starts from the same state. */
  truncate(): Promise<void>
  close(): Promise<void>
}

export async function openBenchDatabase(options: { databaseUrl?: string; dataDir: string; poolSize: number; logger: Logger; fsync?: boolean }): Promise<BenchDatabase> {
  const poolConfig = { dbPoolSize: options.poolSize, dbConnectTimeoutMs: 10_000 }
  if (options.databaseUrl) {
    const pool = createPool(options.databaseUrl, poolConfig, options.logger)
    await migrate(pool, options.logger)
    return benchDatabase('server', options.databaseUrl, pool, undefined, async () => pool.end())
  }
  // The service's own embedded database: the same engine, extensions and settings.
  const embedded = await startEmbeddedDatabase({ dataDir: options.dataDir, host: '127.0.0.1', port: 0, idleInTransactionTimeoutMs: 30_000, maxMessageBytes: 64 * 1024 * 1024, password: undefined, fsync: options.fsync ?? true, logger: options.logger })
  const pool = createPool(embedded.url, poolConfig, options.logger)
  const close = async (): Promise<void> => {
    await pool.end()
    await embedded.close()
  }
  try {
    await migrate(pool, options.logger)
  } catch (error) {
    await close()
    throw error
  }
  return benchDatabase('embedded', embedded.url, pool, embedded.engine, close)
}

function benchDatabase(kind: BenchDatabase['kind'], url: string, pool: Pool, pglite: Engine | undefined, close: () => Promise<void>): BenchDatabase {
  const writer = sampleWriter(pool, defaultWriteGroupsInFlight(kind === 'server' ? url : undefined))
  return {
    kind,
    url,
    pool,
    pglite,
    writeSamples: (deviceId, batch) => writer.submit({ deviceId, batch }),
    async truncate() {
      await pool.query(`truncate ${RAW_HYPERTABLES.join(', ')}`)
    },
    close,
  }
}
