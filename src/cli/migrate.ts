// npm run migrate: applies pending migrations (sql/NNN_*.sql) and exits.
import { runWithDatabase } from './run-with-database.ts'
import { listMigrations } from '../db/migrate.ts'

await runWithDatabase('migrate', async (database) => {
  const applied = await database.pool.query<{ version: string }>('select version from schema_migrations order by version')
  console.log(`schema is up to date: ${applied.rowCount} of ${listMigrations().length} migrations applied`)
})
