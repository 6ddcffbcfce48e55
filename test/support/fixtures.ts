// The wire fixtures of shared/fixtures/wire (bodies encoded by Google's protobuf library),
// copied into test/data, and the same six samples in every body format.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SampleKind } from '../../src/codec/index.ts'

const DATA_DIR = fileURLToPath(new URL('../data/', import.meta.url))

export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(DATA_DIR, name))
}

/** One sample of expected.json: what the wire fixtures decode to, fields by name. */
export interface ExpectedSample {
  id: string
  type_url: string
  seconds: number
  nanos: number
  kind: SampleKind
  [field: string]: unknown
}

/** expected.json: the six samples of the wire fixtures, in order. */
export function expectedSamples(): ExpectedSample[] {
  return JSON.parse(fixture('expected.json').toString()) as ExpectedSample[]
}

/** samples.jsonl as proto3 JSON of a SampleCollection (`{"samples": [...]}`). */
function jsonCollection(): Buffer {
  const samples = fixture('samples.jsonl').toString().trim().split('\n').map((line) => JSON.parse(line) as unknown)
  return Buffer.from(JSON.stringify({ samples }))
}

/** One valid body per format: six samples in the protobuf ones, the first five in JSON. */
export const WIRE_BODIES = {
  collection: fixture('collection.bin'),
  delimited: fixture('delimited.bin'),
  ndjson: fixture('samples.jsonl'),
  json: jsonCollection(),
}
