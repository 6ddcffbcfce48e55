// What a user of `npm run send` sees: the send client, in the bench's process, uploads the
// dataset's files over HTTP in its default format and batch size, and the clock stops when
// every row is committed (the client has all answers, and the rows are counted to be sure).
// On 2 cores the client costs about as much CPU as the service: the service's own figures
// come from the load process (upload-load.ts).
import pg from 'pg'
import { sendFiles } from '../../src/client/send-files.ts'
import type { BenchService } from './service-process.ts'
import type { Dataset } from './dataset.ts'
import { countStoredSamples } from '../../src/db/stored-samples.ts'

export interface EndToEndResult {
  seconds: number
  samplesPerSecond: number
}

export async function uploadDataset(service: BenchService, token: string, dataset: Dataset): Promise<EndToEndResult> {
  const started = performance.now()
  const summary = await sendFiles({ files: dataset.files, url: service.baseUrl, token })
  const seconds = (performance.now() - started) / 1000
  if (!summary.complete || summary.accepted !== dataset.totalSamples) {
    throw new Error(`the send did not store every sample: ${JSON.stringify(summary)}`)
  }
  const stored = await countStoredRows(service.databaseUrl)
  if (stored !== dataset.totalSamples) throw new Error(`${stored} rows in the hypertables, ${dataset.totalSamples} sent`)
  return { seconds, samplesPerSecond: dataset.totalSamples / seconds }
}

export async function countStoredRows(databaseUrl: string): Promise<number> {
  const client = new pg.Client(databaseUrl)
  await client.connect()
  try {
    return await countStoredSamples(client)
  } finally {
    await client.end()
  }
}
