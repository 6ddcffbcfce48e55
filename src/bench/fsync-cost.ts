// What durable commits cost on the embedded database: the end-to-end figures again with
// EMBEDDED_FSYNC=off (unsafe: a power loss can lose acknowledged uploads), to set beside the
// run's default figures, which are taken with fsync on. Large uploads (the send client's
// batches) and many small concurrent ones, where one WAL sync per commit weighs most.
import pg from 'pg'
import { addDevice } from '../db/devices.ts'
import type { Dataset } from './dataset.ts'
import { uploadDataset } from './end-to-end.ts'
import type { RunFigures } from './report.ts'
import { startBenchService } from './service-process.ts'
import { postSmallUploads } from './small-uploads.ts'

export interface FsyncOffOptions {
  dataDir: string
  env: Record<string, string>
  dataset: Dataset
  smallBodies: readonly Uint8Array[]
  samplesPerUpload: number
  clients: number
}

export async function fsyncOffFigures(options: FsyncOffOptions): Promise<RunFigures> {
  const service = await startBenchService({ dataDir: options.dataDir, env: { ...options.env, EMBEDDED_FSYNC: 'off' } })
  try {
    const large = await uploadDataset(service, service.localToken!, options.dataset)
    // Another device: the small bodies hold the dataset's samples, which would all be duplicates.
    const client = new pg.Client(service.databaseUrl)
    await client.connect()
    const { token } = await addDevice(client, 'bench-small-fsync-off').finally(() => client.end())
    const small = await postSmallUploads(service, token, options.smallBodies, options.samplesPerUpload, options.clients)
    return {
      service_fsync_off_samples_per_s: large.samplesPerSecond,
      small_uploads_fsync_off_samples_per_s: small.samplesPerSecond,
      small_uploads_fsync_off_p50_ms: small.p50Ms,
    }
  } finally {
    await service.stop()
  }
}
