// The dataset's rows as COPY payloads for the database's own bulk paths: text format (what
// psql's \copy reads from a file) and binary format (no parsing of numbers or times on the
// server: the fastest way in). Binary layout: PostgreSQL docs, "COPY", "Binary Format".
import type { SimulatedKind, SimulatedSample } from '../../src/sim/index.ts'
import { BENCH_KINDS, type Dataset } from './dataset.ts'

export const COPY_TARGETS: Record<SimulatedKind, string> = {
  location: 'location_samples (time, device_id, sample_id, latitude, longitude)',
  activity: 'activity_samples (time, device_id, sample_id, unknown, stationary, walking, running)',
  acceleration: 'acceleration_samples (time, device_id, sample_id, x, y, z)',
}

export const BENCH_DEVICE_ID = 1

export type CopyPayloads = Record<SimulatedKind, Buffer>

/** The samples of one kind in COPY's text format (tab-separated, one row a line). */
export function copyText(samples: readonly SimulatedSample[]): Buffer {
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

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')
// timestamptz on the wire: microseconds since 2000-01-01 UTC.
const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1)

/** The samples of one kind in COPY's binary format. */
export function copyBinary(samples: readonly SimulatedSample[]): Buffer {
  // Widest row: 2 (field count) + 3 key fields + 3 doubles, each with its 4-byte length.
  const buffer = Buffer.alloc(SIGNATURE.length + 8 + samples.length * (2 + 12 + 8 + 12 + 3 * 12) + 2)
  let at = SIGNATURE.copy(buffer, 0)
  at = buffer.writeInt32BE(0, at) // flags
  at = buffer.writeInt32BE(0, at) // header extension length
  const int8 = (value: bigint) => buffer.writeBigInt64BE(value, buffer.writeInt32BE(8, at))
  const float8 = (value: number) => buffer.writeDoubleBE(value, buffer.writeInt32BE(8, at))
  const bool = (value: boolean) => buffer.writeUInt8(value ? 1 : 0, buffer.writeInt32BE(1, at))
  for (const sample of samples) {
    const fields = sample.kind === 'location' ? 5 : sample.kind === 'activity' ? 7 : 6
    at = buffer.writeInt16BE(fields, at)
    at = int8(BigInt(Math.round((sample.timeMs - POSTGRES_EPOCH_MS) * 1000)))
    at = buffer.writeInt32BE(BENCH_DEVICE_ID, buffer.writeInt32BE(4, at))
    at = int8(BigInt(sample.id))
    if (sample.kind === 'location') {
      at = float8(sample.data.latitude)
      at = float8(sample.data.longitude)
    } else if (sample.kind === 'activity') {
      for (const flag of [sample.data.unknown, sample.data.stationary, sample.data.walking, sample.data.running]) at = bool(flag)
    } else {
      for (const axis of [sample.data.x, sample.data.y, sample.data.z]) at = float8(axis)
    }
  }
  at = buffer.writeInt16BE(-1, at) // trailer
  return buffer.subarray(0, at)
}

/** Every kind of the dataset, cut into `parts` consecutive slices, each encoded on its own. */
export function copyPayloads(dataset: Dataset, encode: (samples: readonly SimulatedSample[]) => Buffer, parts = 1): CopyPayloads[] {
  return Array.from({ length: parts }, (_, part) =>
    Object.fromEntries(
      BENCH_KINDS.map((kind) => {
        const samples = dataset.samples[kind]
        const size = Math.ceil(samples.length / parts)
        return [kind, encode(samples.slice(part * size, (part + 1) * size))]
      }),
    ) as CopyPayloads,
  )
}
