// Decoded sample columns as the payload of a binary COPY into their hypertable: the way the
// database loads rows fastest (no parsing of numbers or times on its side; the bench's true
// limit loads the same rows the same way). Layout: PostgreSQL docs, "COPY", "Binary Format".
//
//   const payload = copyPayload('acceleration', uploads)
//   // COPY acceleration_samples (time, device_id, sample_id, x, y, z) FROM STDIN WITH (FORMAT binary)
import type { SampleBatch, SampleKind } from '../codec/index.ts'

export interface DeviceBatch {
  deviceId: number
  batch: SampleBatch
}

/** Each kind's table and columns, in the order copyPayload writes its fields. */
export const COPY_TARGETS: Record<SampleKind, string> = {
  location: 'location_samples (time, device_id, sample_id, latitude, longitude)',
  activity: 'activity_samples (time, device_id, sample_id, unknown, stationary, walking, running)',
  acceleration: 'acceleration_samples (time, device_id, sample_id, x, y, z)',
  other: 'other_samples (time, device_id, sample_id, type_url, payload)',
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')
/** Signature, flags, header extension length; the trailer (-1 fields). */
const HEADER_BYTES = SIGNATURE.length + 8
const TRAILER_BYTES = 2
/** The key fields of every row: field count, time, device id, sample id (each with its 4-byte length). */
const KEY_BYTES = 2 + 12 + 8 + 12
// timestamptz on the wire: microseconds since 2000-01-01 UTC.
const POSTGRES_EPOCH_SECONDS = Date.UTC(2000, 0, 1) / 1000
const TWO_32 = 2 ** 32

/** The fixed-width rows' bytes after the key; `other` rows vary and are counted one by one. */
const VALUE_BYTES: Record<Exclude<SampleKind, 'other'>, number> = { location: 2 * 12, activity: 4 * 5, acceleration: 3 * 12 }
const FIELD_COUNTS: Record<SampleKind, number> = { location: 5, activity: 7, acceleration: 6, other: 5 }

/** The `kind` rows of all `uploads`, one COPY payload (header, rows, trailer). */
export function copyPayload(kind: SampleKind, uploads: readonly DeviceBatch[]): Buffer {
  const buffer = Buffer.allocUnsafe(payloadBytes(kind, uploads))
  let at = SIGNATURE.copy(buffer, 0)
  at = buffer.writeInt32BE(0, at) // flags
  at = buffer.writeInt32BE(0, at) // header extension length
  const fields = FIELD_COUNTS[kind]
  for (const { deviceId, batch } of uploads) {
    const { sampleIds, seconds, micros } = batch[kind]
    for (let row = 0; row < sampleIds.length; row++) {
      at = buffer.writeInt16BE(fields, at)
      const time = (seconds[row]! - POSTGRES_EPOCH_SECONDS) * 1_000_000 + micros[row]!
      at = buffer.writeInt32BE(8, at)
      at = Number.isSafeInteger(time) ? writeSafeInt64(buffer, at, time) : buffer.writeBigInt64BE((BigInt(seconds[row]!) - BigInt(POSTGRES_EPOCH_SECONDS)) * 1_000_000n + BigInt(micros[row]!), at)
      at = buffer.writeInt32BE(deviceId, buffer.writeInt32BE(4, at))
      // Up to 15 digits a double holds exactly; longer ids go through BigInt.
      const id = sampleIds[row]!
      at = buffer.writeInt32BE(8, at)
      at = id.length <= 15 ? writeSafeInt64(buffer, at, Number(id)) : buffer.writeBigInt64BE(BigInt(id), at)
      at = writeValues(buffer, at, kind, batch, row)
    }
  }
  return buffer.subarray(0, buffer.writeInt16BE(-1, at))
}

function payloadBytes(kind: SampleKind, uploads: readonly DeviceBatch[]): number {
  let bytes = HEADER_BYTES + TRAILER_BYTES
  for (const { batch } of uploads) {
    const rows = batch[kind].sampleIds.length
    if (kind !== 'other') {
      bytes += rows * (KEY_BYTES + VALUE_BYTES[kind])
      continue
    }
    bytes += rows * (KEY_BYTES + 8)
    for (let row = 0; row < rows; row++) bytes += Buffer.byteLength(batch.other.typeUrls[row]!) + batch.other.payloads[row]!.length
  }
  return bytes
}

/** An int64 held exactly by a double (|value| < 2^53), without a BigInt. */
function writeSafeInt64(buffer: Buffer, at: number, value: number): number {
  const high = Math.floor(value / TWO_32)
  buffer.writeInt32BE(high, at)
  return buffer.writeUInt32BE(value - high * TWO_32, at + 4)
}

function writeValues(buffer: Buffer, at: number, kind: SampleKind, batch: SampleBatch, row: number): number {
  switch (kind) {
    case 'location':
      return writeFloat8(buffer, writeFloat8(buffer, at, batch.location.latitudes[row]!), batch.location.longitudes[row]!)
    case 'activity': {
      const { unknown, stationary, walking, running } = batch.activity
      return writeBool(buffer, writeBool(buffer, writeBool(buffer, writeBool(buffer, at, unknown[row]!), stationary[row]!), walking[row]!), running[row]!)
    }
    case 'acceleration': {
      const { x, y, z } = batch.acceleration
      return writeFloat8(buffer, writeFloat8(buffer, writeFloat8(buffer, at, x[row]!), y[row]!), z[row]!)
    }
    case 'other': {
      const typeUrl = batch.other.typeUrls[row]!
      const length = buffer.write(typeUrl, at + 4)
      at = buffer.writeInt32BE(length, at) + length
      const payload = batch.other.payloads[row]!
      at = buffer.writeInt32BE(payload.length, at)
      buffer.set(payload, at)
      return at + payload.length
    }
  }
}

// Each field: its length, then its bytes.
function writeFloat8(buffer: Buffer, at: number, value: number): number {
  return buffer.writeDoubleBE(value, buffer.writeInt32BE(8, at))
}

function writeBool(buffer: Buffer, at: number, value: boolean): number {
  return buffer.writeUInt8(value ? 1 : 0, buffer.writeInt32BE(1, at))
}
