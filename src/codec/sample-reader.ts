// The protobuf fast path: one Sample read straight from the body's bytes, without the
// message objects protobufjs's reflection decoder builds (a Sample, its Any, its Timestamp,
// a Long per int64, a second Reader and message for the Any's payload). It covers samples
// as every encoder writes them; anything unusual (a field with an unexpected wire type, a
// negative or huge varint, a truncated field) makes it return undefined, and the caller
// decodes that sample with the reflection decoder, which also words every error. So both
// paths accept the same bodies and refuse them with the same messages.
import type protobuf from 'protobufjs'
import { KNOWN_KINDS, type KnownKind, type MessageFields } from './kinds.ts'
import { TYPE_URL_PREFIX } from './proto.ts'

export interface RawSample {
  id: string
  /** Undefined when the Sample has no timestamp. */
  seconds: number | undefined
  nanos: number
  /** Undefined when the Sample has no data. */
  typeUrl: string | undefined
  /** The known kind the type URL names, when it is the canonical `type.googleapis.com/<Kind>`. */
  known: KnownKind | undefined
  /** The Any's payload: [valueStart, valueEnd) of the reader's buffer. */
  valueStart: number
  valueEnd: number
}

const VARINT = 0
const FIXED64 = 1
const LENGTH_DELIMITED = 2

const utf8 = new TextEncoder()
/** The canonical type URLs of the known kinds, as bytes, to recognise them without decoding text. */
const CANONICAL_TYPE_URLS = [...KNOWN_KINDS].map(([name, known]) => ({ typeUrl: TYPE_URL_PREFIX + name, bytes: utf8.encode(TYPE_URL_PREFIX + name), known }))

/** Reads the Sample in [reader.pos, end); on undefined the reader's position is unspecified. */
export function readRawSample(reader: protobuf.Reader, end: number): RawSample | undefined {
  try {
    const sample: RawSample = { id: '0', seconds: undefined, nanos: 0, typeUrl: undefined, known: undefined, valueStart: 0, valueEnd: 0 }
    while (reader.pos < end) {
      const tag = reader.uint32()
      const wireType = tag & 7
      switch (tag >>> 3) {
        case 1: {
          if (wireType !== VARINT) return undefined
          const id = readSmallVarint(reader, end)
          if (id === undefined) return undefined
          sample.id = String(id)
          break
        }
        case 2:
          if (wireType !== LENGTH_DELIMITED || !readAny(reader, sample, end)) return undefined
          break
        case 3:
          if (wireType !== LENGTH_DELIMITED || !readTimestamp(reader, sample, end)) return undefined
          break
        default:
          return undefined
      }
    }
    return reader.pos === end ? sample : undefined
  } catch {
    return undefined
  }
}

/**
 * The fields of a known kind from the Any's payload, or undefined when the payload is
 * anything but the plain encoding of that message (then the reflection decoder reads it).
 */
export function readKnownFields(reader: protobuf.Reader, known: KnownKind, start: number, end: number): MessageFields | undefined {
  const outer = { pos: reader.pos, len: reader.len }
  reader.pos = start
  reader.len = end
  try {
    const fields: MessageFields = known.kind === 'activity' ? { unknown: false, stationary: false, walking: false, running: false } : {}
    const names = FIELD_NAMES[known.kind]
    if (known.kind !== 'activity') for (const name of names) fields[name] = 0
    while (reader.pos < end) {
      const tag = reader.uint32()
      const name = names[(tag >>> 3) - 1]
      if (name === undefined) return undefined
      if (known.kind === 'activity') {
        if ((tag & 7) !== VARINT) return undefined
        fields[name] = reader.bool()
      } else {
        if ((tag & 7) !== FIXED64) return undefined
        fields[name] = reader.double()
      }
    }
    return reader.pos === end ? fields : undefined
  } catch {
    return undefined
  } finally {
    reader.pos = outer.pos
    reader.len = outer.len
  }
}

/** Field names by field number - 1, as in proto/sample.proto. */
const FIELD_NAMES: Record<KnownKind['kind'], readonly string[]> = {
  location: ['latitude', 'longitude'],
  activity: ['unknown', 'stationary', 'walking', 'running'],
  acceleration: ['x', 'y', 'z'],
}

function readAny(reader: protobuf.Reader, sample: RawSample, sampleEnd: number): boolean {
  const end = nestedEnd(reader, sampleEnd)
  if (end === undefined) return false
  sample.typeUrl = ''
  sample.known = undefined
  sample.valueStart = sample.valueEnd = 0
  while (reader.pos < end) {
    const tag = reader.uint32()
    if ((tag & 7) !== LENGTH_DELIMITED) return false
    const length = reader.uint32()
    const start = reader.pos
    if (length > end - start) return false
    if (tag >>> 3 === 1) {
      // Other type URLs (unknown kinds, other spellings) are rare: the general path checks them.
      const canonical = CANONICAL_TYPE_URLS.find((candidate) => sameBytes(reader.buf, start, length, candidate.bytes))
      if (!canonical) return false
      sample.typeUrl = canonical.typeUrl
      sample.known = canonical.known
    } else if (tag >>> 3 === 2) {
      sample.valueStart = start
      sample.valueEnd = start + length
    } else {
      return false
    }
    reader.pos = start + length
  }
  // An Any without a type URL is refused by the general path, in its words.
  return sample.known !== undefined && reader.pos === end
}

function readTimestamp(reader: protobuf.Reader, sample: RawSample, sampleEnd: number): boolean {
  const end = nestedEnd(reader, sampleEnd)
  if (end === undefined) return false
  sample.seconds = 0
  sample.nanos = 0
  while (reader.pos < end) {
    const tag = reader.uint32()
    if ((tag & 7) !== VARINT) return false
    if (tag >>> 3 === 1) {
      const seconds = readSmallVarint(reader, end)
      if (seconds === undefined) return false
      sample.seconds = seconds
    } else if (tag >>> 3 === 2) {
      // int32 as protobufjs reads it: at most 5 bytes, below 2^31 (else it wraps).
      const before = reader.pos
      const nanos = readSmallVarint(reader, end)
      if (nanos === undefined || nanos > 0x7fffffff || reader.pos - before > 5) return false
      sample.nanos = nanos
    } else {
      return false
    }
  }
  return reader.pos === end
}

/** Reads a nested message's length; returns where it ends, or undefined past `outerEnd`. */
function nestedEnd(reader: protobuf.Reader, outerEnd: number): number | undefined {
  const length = reader.uint32()
  const end = reader.pos + length
  return end <= outerEnd ? end : undefined
}

/**
 * A varint of at most 7 bytes (49 bits: exact as a double, and every id and Timestamp second
 * a clock gives). Longer ones (negative numbers take 10 bytes) are left to the general path.
 */
function readSmallVarint(reader: protobuf.Reader, end: number): number | undefined {
  const buf = reader.buf
  let pos = reader.pos
  let value = 0
  let scale = 1
  for (let index = 0; index < 7 && pos < end; index++) {
    const byte = buf[pos++]!
    value += (byte & 0x7f) * scale
    if (byte < 0x80) {
      reader.pos = pos
      return value
    }
    scale *= 128
  }
  return undefined
}

function sameBytes(buf: Uint8Array, start: number, length: number, expected: Uint8Array): boolean {
  if (length !== expected.length) return false
  for (let index = 0; index < length; index++) if (buf[start + index] !== expected[index]) return false
  return true
}
