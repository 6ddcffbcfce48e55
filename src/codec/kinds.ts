// What the service knows about each sample kind: which message type the Any carries, and
// how its fields land in the hypertable's columns. Protobuf and JSON bodies both end here,
// so every format gets the same checks and the same error texts.
import type protobuf from 'protobufjs'
import { AccelerationType, ActivityType, LocationType } from './proto.ts'
import { DecodeError, describeWhere, type DecodeErrorDetails } from './errors.ts'
import type { SampleBatch, SampleKeyColumns, SampleKind } from './samples.ts'

/** A sample's key after checks: the part every kind shares. */
export interface SampleKey {
  id: string
  seconds: number
  micros: number
}

/** Field values of a known kind, by .proto field name (protobufjs message or JSON reading). */
export type MessageFields = Record<string, unknown>

export interface KnownKind {
  kind: Exclude<SampleKind, 'other'>
  /** The message type the Any carries. */
  type: protobuf.Type
  /** Throws DecodeError naming the field when a value is not acceptable. */
  check(fields: MessageFields, where: DecodeErrorDetails): void
  /** Pushes checked values onto the kind's columns. */
  append(batch: SampleBatch, fields: MessageFields): void
}

/** Known kinds by message name, which is what follows the last `/` of the Any type URL. */
export const KNOWN_KINDS: ReadonlyMap<string, KnownKind> = new Map<string, KnownKind>([
  [
    'Location',
    {
      kind: 'location',
      type: LocationType,
      check(fields, where) {
        finiteInRange(fields.latitude, -90, 90, 'data.latitude', where)
        finiteInRange(fields.longitude, -180, 180, 'data.longitude', where)
      },
      append(batch, fields) {
        batch.location.latitudes.push(fields.latitude as number)
        batch.location.longitudes.push(fields.longitude as number)
      },
    },
  ],
  [
    'Activity',
    {
      kind: 'activity',
      type: ActivityType,
      check() {
        // Four booleans: every combination is valid (the flags are not exclusive).
      },
      append(batch, fields) {
        batch.activity.unknown.push(fields.unknown === true)
        batch.activity.stationary.push(fields.stationary === true)
        batch.activity.walking.push(fields.walking === true)
        batch.activity.running.push(fields.running === true)
      },
    },
  ],
  [
    'Acceleration',
    {
      kind: 'acceleration',
      type: AccelerationType,
      check(fields, where) {
        finite(fields.x, 'data.x', where)
        finite(fields.y, 'data.y', where)
        finite(fields.z, 'data.z', where)
      },
      append(batch, fields) {
        batch.acceleration.x.push(fields.x as number)
        batch.acceleration.y.push(fields.y as number)
        batch.acceleration.z.push(fields.z as number)
      },
    },
  ],
])

/** `type.googleapis.com/Location` -> `Location`. */
export function kindName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1)
}

/** Checks one sample of a known kind and appends it. */
export function appendKnown(batch: SampleBatch, known: KnownKind, key: SampleKey, fields: MessageFields, where: DecodeErrorDetails): void {
  // Check before pushing anything: a failing check must leave the columns as they were.
  known.check(fields, where)
  appendChecked(batch, known, key, fields)
}

/** Appends a sample whose fields `known.check` has already passed. */
export function appendChecked(batch: SampleBatch, known: KnownKind, key: SampleKey, fields: MessageFields): void {
  known.append(batch, fields)
  pushKey(batch[known.kind], key)
  batch.count++
}

/** Appends a sample of a kind the service does not know: kept verbatim. */
export function appendOther(batch: SampleBatch, key: SampleKey, typeUrl: string, payload: Uint8Array): void {
  batch.other.typeUrls.push(typeUrl)
  batch.other.payloads.push(payload)
  pushKey(batch.other, key)
  batch.count++
}

function pushKey(columns: SampleKeyColumns, key: SampleKey): void {
  columns.sampleIds.push(key.id)
  columns.seconds.push(key.seconds)
  columns.micros.push(key.micros)
}

// The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
export const MIN_TIMESTAMP_SECONDS = -62_135_596_800
export const MAX_TIMESTAMP_SECONDS = 253_402_300_799

/** Checks a Timestamp and turns it into the key's seconds + microseconds. */
export function checkedTime(seconds: number, nanos: number, where: DecodeErrorDetails): { seconds: number; micros: number } {
  if (!Number.isInteger(seconds) || seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
    throw invalid('timestamp.seconds', `is outside the protobuf Timestamp range (0001-01-01 to 9999-12-31)`, where, seconds)
  }
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw invalid('timestamp.nanos', 'must be between 0 and 999999999', where, nanos)
  }
  // PostgreSQL keeps microseconds: the nanoseconds below are dropped (truncated, never
  // rounded, so a sample never moves into the next second).
  return { seconds, micros: Math.floor(nanos / 1000) }
}

/** Type URLs are ASCII by the Any spec; anything else is refused rather than stored mangled. */
export function checkedTypeUrl(typeUrl: string, where: DecodeErrorDetails): string {
  if (typeUrl.length === 0) throw invalid('data.type_url', 'is empty', where)
  if (typeUrl.length > 2048 || !/^[\x21-\x7e]+$/.test(typeUrl)) {
    throw invalid('data.type_url', 'must be at most 2048 printable ASCII characters', where)
  }
  if (kindName(typeUrl).length === 0) throw invalid('data.type_url', 'has no type name after the last "/"', where, typeUrl)
  return typeUrl
}

export function invalid(field: string, problem: string, where: DecodeErrorDetails, value?: unknown): DecodeError {
  const details: DecodeErrorDetails = { ...where, field }
  if (value !== undefined) details.value = typeof value === 'number' && !Number.isFinite(value) ? String(value) : value
  return new DecodeError('invalid_sample', `${describeWhere(where)}: ${field} ${problem}`, details)
}

function finite(value: unknown, field: string, where: DecodeErrorDetails): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(field, 'must be a finite number', where, value)
  return value
}

function finiteInRange(value: unknown, min: number, max: number, field: string, where: DecodeErrorDetails): number {
  const number = finite(value, field, where)
  if (number < min || number > max) throw invalid(field, `must be within [${min}, ${max}]`, where, number)
  return number
}
