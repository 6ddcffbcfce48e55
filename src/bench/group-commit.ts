// What group commit could buy: the writer taking many small uploads one transaction each
// (what the service does) against the same uploads merged into one transaction per group
// (the best case of batching across concurrent uploads, before any waiting for the group to
// fill). Both with `concurrency` writes in flight.
import { emptySampleBatch, SAMPLE_KINDS, type SampleBatch } from '../codec/index.ts'
import type { BenchDatabase } from './bench-database.ts'
import { writeAll } from './writer-throughput.ts'

/** The uploads of `batches`, `groupSize` at a time, as one batch each. */
export function groupBatches(batches: readonly SampleBatch[], groupSize: number): SampleBatch[] {
  const groups: SampleBatch[] = []
  for (let start = 0; start < batches.length; start += groupSize) {
    const group = emptySampleBatch()
    for (const batch of batches.slice(start, start + groupSize)) {
      group.count += batch.count
      for (const kind of SAMPLE_KINDS) {
        const target = group[kind] as unknown as Record<string, unknown[]>
        for (const [column, values] of Object.entries(batch[kind] as unknown as Record<string, unknown[]>)) target[column]!.push(...values)
      }
    }
    groups.push(group)
  }
  return groups
}

export async function groupCommitGain(database: BenchDatabase, smallBatches: readonly SampleBatch[], concurrency: number): Promise<{ oneEachSamplesPerSecond: number; groupedSamplesPerSecond: number }> {
  const samples = smallBatches.reduce((sum, batch) => sum + batch.count, 0)
  const oneEach = await writeAll(database, smallBatches, concurrency)
  const grouped = await writeAll(database, groupBatches(smallBatches, concurrency), 1)
  return { oneEachSamplesPerSecond: samples / oneEach, groupedSamplesPerSecond: samples / grouped }
}
