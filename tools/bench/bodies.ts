// The dataset as upload bodies, cut into batches the way the send client cuts its files
// (one kind per file, so one kind per batch), encoded by the client's own encoder.
import zlib from 'node:zlib'
import type { BodyFormat } from '../../src/codec/index.ts'
import { readJsonSample } from '../../src/codec/json.ts'
import { encodeBody, encodeRecord, type SendFormat } from '../../src/client/encode.ts'
import { BENCH_KINDS, type Dataset } from './dataset.ts'

/** What the codec bench decodes: the four body formats and gzip (of the default format). */
export const CODEC_CASES = ['collection', 'delimited', 'json', 'ndjson', 'collection+gzip'] as const
export type CodecCase = (typeof CODEC_CASES)[number]

export interface EncodedBodies {
  format: BodyFormat
  gzip: boolean
  bodies: Uint8Array[]
}

/** The dataset's lines in batches of `batchSize`, each batch one kind. */
export function lineBatches(dataset: Dataset, batchSize: number): string[][] {
  const batches: string[][] = []
  for (const kind of BENCH_KINDS) {
    const lines = dataset.lines[kind]
    for (let start = 0; start < lines.length; start += batchSize) batches.push(lines.slice(start, start + batchSize))
  }
  return batches
}

export function encodeBodies(codecCase: CodecCase, batches: string[][]): EncodedBodies {
  const gzip = codecCase.endsWith('+gzip')
  const format = codecCase.replace('+gzip', '') as BodyFormat
  const bodies = batches.map((lines) => {
    const body = format === 'json' ? Buffer.from(`{"samples":[${lines.join(',')}]}`) : encodeLines(format, lines)
    return gzip ? zlib.gzipSync(body) : body
  })
  return { format, gzip, bodies }
}

function encodeLines(format: SendFormat, lines: string[]): Uint8Array {
  return encodeBody(
    format,
    lines.map((line) => encodeRecord(format, readJsonSample(JSON.parse(line), {}), line)),
  )
}
