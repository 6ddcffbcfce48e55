// The dataset's rows as COPY payloads for the database's own bulk paths: text format (what
// psql's \copy reads from a file) and binary format (no parsing of numbers or times on the
// server: the fastest way in). The binary rows are the writer's own (src/db/sample-copy.ts),
// so the limit loads the very bytes the service's COPY sends.
import type { SampleBatch } from '../../src/codec/index.ts'
import { copyPayload } from '../../src/db/sample-copy.ts'
import type { SimulatedKind, SimulatedSample } from '../../src/sim/index.ts'
import { BENCH_KINDS, type Dataset } from './dataset.ts'

export const BENCH_DEVICE_ID = 1

export type CopyPayloads = Record<SimulatedKind, Buffer>

/** The samples of one kind in COPY's text format (tab-separated, one row a line). */
function copyText(samples: readonly SimulatedSample[]): Buffer {
  const flag = (value: boolean) => (value ? 't' : 'f')
  let text = ''
  for (const sample of samples) {
    const key = `${new Date(sample.timeMs).toISOString()}\t${BENCH_DEVICE_ID}\t${sample.id}`
    if (sample.kind === 'location') text += `${key}\t${sample.data.latitude}\t${sample.data.longitude}\n`
    else if (sample.kind === 'activity') text += `${key}\t${flag(sample.data.unknown)}\t${flag(sample.data.stationary)}\t${flag(sample.data.walking)}\t${flag(sample.data.running)}\n`
    else text += `${key}\t${sample.data.x}\t${sample.data.y}\t${sample.data.z}\n`
  }
  return Buffer.from(text)
}

/**
 * The decoded batches (one kind each, as the client cuts its files) as binary COPY payloads
 * of every kind, the batches cut into `parts` consecutive slices, one payload set each.
 */
export function binaryPayloads(batches: readonly SampleBatch[], parts = 1): CopyPayloads[] {
  return Array.from({ length: parts }, (_, part) =>
    Object.fromEntries(
      BENCH_KINDS.map((kind) => {
        const ofKind = batches.filter((batch) => batch[kind].sampleIds.length > 0)
        const size = Math.ceil(ofKind.length / parts)
        return [kind, copyPayload(kind, ofKind.slice(part * size, (part + 1) * size).map((batch) => ({ deviceId: BENCH_DEVICE_ID, batch })))]
      }),
    ) as CopyPayloads,
  )
}

/** Every kind of the dataset in COPY's text format. */
export function textPayloads(dataset: Dataset): CopyPayloads {
  return Object.fromEntries(BENCH_KINDS.map((kind) => [kind, copyText(dataset.samples[kind])])) as CopyPayloads
}

/**
 * The decoded batches as binary COPY payloads of `batchesPerSlice` consecutive batches of one
 * kind each (the writer's group: 4 uploads of 5,000 samples), dealt round robin to `streams`
 * lists, one per stream.
 */
export function binarySlices(batches: readonly SampleBatch[], batchesPerSlice: number, streams: number): Array<Array<{ kind: SimulatedKind; payload: Buffer }>> {
  const lists: Array<Array<{ kind: SimulatedKind; payload: Buffer }>> = Array.from({ length: streams }, () => [])
  let next = 0
  for (const kind of BENCH_KINDS) {
    const ofKind = batches.filter((batch) => batch[kind].sampleIds.length > 0)
    for (let start = 0; start < ofKind.length; start += batchesPerSlice) {
      const slice = ofKind.slice(start, start + batchesPerSlice).map((batch) => ({ deviceId: BENCH_DEVICE_ID, batch }))
      lists[next++ % streams]!.push({ kind, payload: copyPayload(kind, slice) })
    }
  }
  return lists
}
