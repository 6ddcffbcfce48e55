// The codec: bytes of an upload -> checked samples, split by kind. No I/O, nothing of HTTP
// beyond the media type that names the format.
import { decodeDelimitedSamples, decodeSampleCollection } from './protobuf.ts'
import { decodeJsonCollection, decodeJsonLines } from './json.ts'
import type { SampleBatch } from './samples.ts'

export { DecodeError, type DecodeErrorDetails } from './errors.ts'
export { SAMPLE_KINDS, countsByKind, emptySampleBatch, type CountsByKind, type SampleBatch, type SampleKind } from './samples.ts'

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

/** Body format named by a Content-Type header, or undefined when it is not one we take. */
export function bodyFormatFor(contentType: string | undefined): BodyFormat | undefined {
  if (!contentType) return undefined
  const [mediaType = '', ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase())
  switch (mediaType) {
    case 'application/x-protobuf':
    case 'application/protobuf':
      return parameters.includes('delimited=true') ? 'delimited' : 'collection'
    case 'application/octet-stream':
      return 'delimited'
    case 'application/json':
      return 'json'
    case 'application/x-ndjson':
    case 'application/jsonl':
      return 'ndjson'
    default:
      return undefined
  }
}

/** Decodes and checks a whole upload; throws DecodeError naming the first bad sample. */
export function decodeSamples(format: BodyFormat, body: Uint8Array): SampleBatch {
  return DECODERS[format](body)
}
