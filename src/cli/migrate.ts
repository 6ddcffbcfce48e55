// npm run migrate: applies pending migrations (sql/NNN_*.sql) and exits.
import { parseArgs } from 'node:util'
import { runWithDatabase } from './run-with-database.ts'
import { listMigrations } from '../db/migrate.ts'

const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h', default: false } } })
if (values.help) console.log('usage: npm run migrate\napplies the pending sql/NNN_*.sql migrations to DATABASE_URL, or to the embedded database in DATA_DIR, and exits')
else await runWithDatabase('migrate', async (database) => {
  const applied = await database.pool.query<{ version: string }>('select version from schema_migrations order by version')
  console.log(`schema is up to date: ${applied.rowCount} of ${listMigrations().length} migrations applied`)
})
