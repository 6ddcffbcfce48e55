// The wire fixtures of shared/fixtures/wire (bodies encoded by Google's protobuf library),
// copied into test/data, and the same six samples in every body format.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const DATA_DIR = fileURLToPath(new URL('../data/', import.meta.url))

export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(DATA_DIR, name))
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
