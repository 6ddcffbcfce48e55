// The codec: bytes of an upload -> checked samples, split by kind. No I/O, nothing of HTTP
// beyond the media type that names the format.
import { decodeDelimitedSamples, decodeSampleCollection } from './protobuf.ts'
import { decodeJsonCollection, decodeJsonLines } from './json.ts'
import type { SampleBatch } from './samples.ts'

export { DecodeError, type DecodeErrorDetails } from './errors.ts'
export { SAMPLE_KINDS, countsByKind, emptySampleBatch, timeSpan, type CountsByKind, type SampleBatch, type SampleKind } from './samples.ts'

export const BODY_FORMATS = ['collection', 'delimited', 'json', 'ndjson'] as const
export type BodyFormat = (typeof BODY_FORMATS)[number]

/** The Content-Type that announces each format (what the client sends). */
export const CONTENT_TYPES: Record<BodyFormat, string> = {
  collection: 'application/x-protobuf',
  delimited: 'application/x-protobuf; delimited=true',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
}

const DECODERS: Record<BodyFormat, (body: Uint8Array) => SampleBatch> = {
  collection: decodeSampleCollection,
  delimited: decodeDelimitedSamples,
  json: decodeJsonCollection,
  ndjson: decodeJsonLines,
}

/** Every media type an upload may name, and its format; `; delimited=true` makes protobuf delimited. */
const MEDIA_TYPE_FORMATS = new Map<string, BodyFormat>([
  ['application/x-protobuf', 'collection'],
  ['application/protobuf', 'collection'],
  ['application/octet-stream', 'delimited'],
  ['application/json', 'json'],
  ['application/x-ndjson', 'ndjson'],
  ['application/jsonl', 'ndjson'],
])

/** What bodyFormatFor takes, the client's spellings first: for the answer to a refused Content-Type. */
export const ACCEPTED_CONTENT_TYPES: readonly string[] = [...new Set([...Object.values(CONTENT_TYPES), ...MEDIA_TYPE_FORMATS.keys()])]

/** Body format named by a Content-Type header, or undefined when it is not one we take. */
export function bodyFormatFor(contentType: string | undefined): BodyFormat | undefined {
  if (!contentType) return undefined
  const [mediaType = '', ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase())
  const format = MEDIA_TYPE_FORMATS.get(mediaType)
  return format === 'collection' && parameters.includes('delimited=true') ? 'delimited' : format
}

/** Decodes and checks a whole upload; throws DecodeError naming the first bad sample. */
export function decodeSamples(format: BodyFormat, body: Uint8Array): SampleBatch {
  return DECODERS[format](body)
}
