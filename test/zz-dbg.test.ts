import { it } from 'vitest'
import { startPlainPostgres } from './support/postgres.ts'
import { runToExit, spawnTs } from './support/service.ts'
it('dbg', async () => {
  const postgres = await startPlainPostgres()
  const result = await runToExit(spawnTs('src/cli/migrate.ts', [], { DATABASE_URL: postgres.url, PORT: '0', METRICS_PORT: '0' }))
  console.log(result.stderr)
  postgres.stop()
}, 60000)
