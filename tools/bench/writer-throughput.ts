// The writer alone: writeSamples over a pool, no HTTP, no codec in the timing. The batches
// are the codec's output for the same bodies the client sends, decoded beforehand.
import { decodeSamples, type SampleBatch } from '../../src/codec/index.ts'
import type { BenchDatabase } from './bench-database.ts'
import type { EncodedBodies } from './bodies.ts'
import { BENCH_DEVICE_ID } from './copy-payloads.ts'

export function decodedBatches(encoded: EncodedBodies): SampleBatch[] {
  return encoded.bodies.map((body) => decodeSamples(encoded.format, body))
}

type Write = (deviceId: number, batch: SampleBatch) => Promise<unknown>

/**
 * Writes every batch with `concurrency` uploads in flight (as the service does for that many
 * concurrent clients); returns the seconds until the last one is committed.
 */
export async function writeAll(database: BenchDatabase, batches: readonly SampleBatch[], concurrency: number, write: Write = database.writeSamples): Promise<number> {
  await database.truncate()
  const started = performance.now()
  let next = 0
  const worker = async () => {
    while (next < batches.length) await write(BENCH_DEVICE_ID, batches[next++]!)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return (performance.now() - started) / 1000
}
