// Reads an upload body, gunzipping it when the client says so. The size limit applies to
// the decompressed bytes, so a small gzip bomb is refused before it can fill memory.
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { ApiError } from './errors.ts'

const gunzip = promisify(zlib.gunzip)

export function payloadTooLarge(limitBytes: number): ApiError {
  // The rest of an oversized body is not read: the connection cannot carry another request.
  return new ApiError(413, 'payload_too_large', `the body exceeds ${limitBytes} bytes (counted after gunzip); split the upload into smaller batches`, { limitBytes }, {
    Connection: 'close',
  })
}

/** The (decompressed) body; the raw bytes were already limited by rawBodyLimit (body-limit.ts). */
export async function readUploadBody(request: Request, maxBytes: number): Promise<Buffer> {
  const encoding = request.headers.get('content-encoding')?.trim().toLowerCase() || 'identity'
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'x-gzip') {
    throw new ApiError(415, 'unsupported_content_encoding', `Content-Encoding "${encoding}" is not supported; send gzip or no encoding`)
  }
  const raw = Buffer.from(await request.arrayBuffer())
  if (encoding === 'identity') return raw
  try {
    return await gunzip(raw, { maxOutputLength: maxBytes })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw payloadTooLarge(maxBytes)
    throw new ApiError(400, 'malformed_body', `the body is not valid gzip: ${(error as Error).message}`)
  }
}
