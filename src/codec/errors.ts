/**
 * Where in the body a problem was found. Every field is optional because not every format
 * has every notion (a protobuf body has byte offsets, an NDJSON body has lines).
 */
export interface DecodeErrorDetails {
  /** 0-based index of the sample in the upload. */
  sample?: number
  /** Field path inside the sample, as in the .proto (`data.latitude`, `timestamp.nanos`). */
  field?: string
  /** Byte offset in the (decompressed) body where the failing message starts. */
  offset?: number
  /** 1-based line of an NDJSON body. */
  line?: number
  /** The offending value, when showing it helps. */
  value?: unknown
}

/**
 * The one error type the codec throws: the body (or one sample in it) is not acceptable.
 * `code` is stable for clients (`malformed_body`, `invalid_sample`, `unsupported_kind`).
 */
export class DecodeError extends Error {
  override name = 'DecodeError'
  constructor(
    readonly code: 'malformed_body' | 'invalid_sample' | 'unsupported_kind',
    message: string,
    readonly details: DecodeErrorDetails = {},
  ) {
    super(message)
  }
}

/** Describes a place in the body for messages: "sample 3 (line 4)". */
export function describeWhere(details: DecodeErrorDetails): string {
  const parts: string[] = []
  if (details.sample !== undefined) parts.push(`sample ${details.sample}`)
  if (details.line !== undefined) parts.push(`line ${details.line}`)
  if (details.offset !== undefined) parts.push(`byte offset ${details.offset}`)
  return parts.join(', ')
}
