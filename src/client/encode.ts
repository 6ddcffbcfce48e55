// A checked JSON line -> what goes on the wire. Lines are checked by the codec's own
// readJsonSample (the server runs the same checks, so the client refuses exactly what the
// server would); this module only packs the result as protobuf, or keeps the line for NDJSON.
import Long from 'long'
import protobuf from 'protobufjs'
import { CONTENT_TYPES } from '../codec/index.ts'
import type { JsonSample } from '../codec/json.ts'
import { SampleType } from '../codec/proto.ts'

/** Body formats the client can send (all of them name one Content-Type in the codec). */
export const SEND_FORMATS = ['collection', 'delimited', 'ndjson'] as const
export type SendFormat = (typeof SEND_FORMATS)[number]

export function contentTypeOf(format: SendFormat): string {
  return CONTENT_TYPES[format]
}

/** Field 1 of SampleCollection, length-delimited: (1 << 3) | 2. */
const SAMPLES_TAG = 0x0a
const utf8 = new TextEncoder()

/**
 * One sample as it will sit in a body: the encoded `Sample` message for the protobuf
 * formats, the line's UTF-8 bytes for NDJSON (sent exactly as in the source file).
 */
export function encodeRecord(format: SendFormat, sample: JsonSample, line: string): Uint8Array {
  return format === 'ndjson' ? utf8.encode(line) : encodeSample(sample)
}

/** A checked JSON sample as the bytes of a protobuf `Sample` (data packed in an Any). */
export function encodeSample(sample: JsonSample): Uint8Array {
  return SampleType.encode({
    // Long, not number: ids above 2^53 must reach the server exactly.
    id: Long.fromString(sample.id),
    data: { type_url: sample.typeUrl, value: sample.known.type.encode(sample.fields).finish() },
    timestamp: { seconds: sample.seconds, nanos: sample.nanos },
  }).finish()
}

/**
 * Joins records into one upload body. A SampleCollection is its samples each written as
 * field 1 (length-delimited), so the collection is built from the already encoded Samples
 * instead of decoding and re-encoding them.
 */
export function encodeBody(format: SendFormat, records: readonly Uint8Array[]): Uint8Array {
  if (format === 'ndjson') return Buffer.concat(records.flatMap((record) => [record, NEWLINE]))
  const writer = protobuf.Writer.create()
  for (const record of records) {
    if (format === 'collection') writer.uint32(SAMPLES_TAG)
    writer.bytes(record) // varint length + message: the delimited stream's framing too
  }
  return writer.finish()
}

const NEWLINE = Buffer.from('\n')
