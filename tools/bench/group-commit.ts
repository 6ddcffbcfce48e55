// What group commit buys the writer: many small uploads with `concurrency` in flight, once
// each in a transaction of its own (writeGroup of one upload: what the writer did before group
// commit) and once through writeSamples, where the uploads that wait share a transaction.
import type { SampleBatch } from '../../src/codec/index.ts'
import { writeGroup } from '../../src/db/sample-writer.ts'
import type { BenchDatabase } from './bench-database.ts'
import { writeAll } from './writer-throughput.ts'

export async function groupCommitGain(database: BenchDatabase, smallBatches: readonly SampleBatch[], concurrency: number): Promise<{ oneEachSamplesPerSecond: number; groupedSamplesPerSecond: number }> {
  const samples = smallBatches.reduce((sum, batch) => sum + batch.count, 0)
  const oneEach = await writeAll(database, smallBatches, concurrency, async (deviceId, batch) => {
    const [stored] = await writeGroup(database.pool, [{ deviceId, batch }])
    if (!stored!.ok) throw stored!.error
  })
  const grouped = await writeAll(database, smallBatches, concurrency, database.writeSamples)
  return { oneEachSamplesPerSecond: samples / oneEach, groupedSamplesPerSecond: samples / grouped }
}
