// npm run migrate: applies pending migrations (sql/NNN_*.sql) and the storage policies of this
// configuration (COMPRESS_AFTER, RETAIN_RAW, RETAIN_AGGREGATES), then exits. Run it as the
// owner of the schema before a service that connects as a member of telemetry_service, which
// may neither change the schema nor the policies (docker-compose.yml's `migrate` service).
import { runWithDatabase } from './run-with-database.ts'
import { parseToolArgs, runTool } from './usage.ts'
import { listMigrations } from '../db/migrate.ts'
import { applyStoragePolicies } from '../db/policies.ts'

const USAGE = 'usage: npm run migrate\napplies the pending sql/NNN_*.sql migrations and the storage policies (COMPRESS_AFTER, RETAIN_RAW, RETAIN_AGGREGATES) to DATABASE_URL, or to the embedded database in DATA_DIR, and exits'

await runTool('migrate', USAGE, async () => {
  const { values } = parseToolArgs({ options: { help: { type: 'boolean', short: 'h', default: false } } })
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  return runWithDatabase('migrate', async (database, config, logger) => {
    await applyStoragePolicies(database.pool, config, logger)
    const applied = await database.pool.query<{ version: string }>('select version from schema_migrations order by version')
    console.log(`schema is up to date: ${applied.rowCount} of ${listMigrations().length} migrations applied`)
  })
})
