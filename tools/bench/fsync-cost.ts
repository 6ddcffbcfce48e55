// What durable commits cost on the embedded database: the service's figures again with
// EMBEDDED_FSYNC=off (unsafe: a power loss can lose acknowledged uploads), to set beside the
// run's default figures, which are taken with fsync on. Large uploads, and many small concurrent
// ones, where one WAL sync per commit weighs most (group commit shares it).
import pg from 'pg'
import { CONTENT_TYPES } from '../../src/codec/index.ts'
import { addDevice } from '../../src/db/devices.ts'
import type { RunFigures } from './report.ts'
import { startBenchService } from './service-process.ts'
import { runUploadLoad } from './upload-load.ts'

export interface FsyncOffOptions {
  dataDir: string
  env: Record<string, string>
  totalSamples: number
  largeBodiesFile: string
  largeClients: number
  smallBodiesFile: string
  smallClients: number
}

export async function fsyncOffFigures(options: FsyncOffOptions): Promise<RunFigures> {
  const service = await startBenchService({ dataDir: options.dataDir, env: { ...options.env, EMBEDDED_FSYNC: 'off' } })
  try {
    // A device for each phase: the small bodies hold the same samples, which would all be duplicates.
    const client = new pg.Client(service.databaseUrl)
    await client.connect()
    const tokens = await Promise.all(['bench-large-fsync-off', 'bench-small-fsync-off'].map(async (name) => (await addDevice(client, name)).token)).finally(() => client.end())
    const load = (bodiesFile: string, clients: number, token: string) =>
      runUploadLoad({ service, token, bodiesFile, contentType: CONTENT_TYPES.collection, clients })
    const large = await load(options.largeBodiesFile, options.largeClients, tokens[0]!)
    const small = await load(options.smallBodiesFile, options.smallClients, tokens[1]!)
    return {
      service_fsync_off_samples_per_s: options.totalSamples / large.seconds,
      small_uploads_fsync_off_samples_per_s: options.totalSamples / small.seconds,
      small_uploads_fsync_off_p50_ms: small.p50Ms,
    }
  } finally {
    await service.stop()
  }
}
