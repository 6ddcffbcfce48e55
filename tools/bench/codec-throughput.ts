// Codec decode speed per body format, on one core: the time decodeSamples takes for all
// bodies (gunzip included for the gzip case, as the service does it before decoding).
import zlib from 'node:zlib'
import { decodeSamples } from '../../src/codec/index.ts'
import type { EncodedBodies } from './bodies.ts'

/** Decodes every body `rounds` times; returns samples/s of the fastest round (warm JIT). */
export function decodeRate(encoded: EncodedBodies, rounds = 3): number {
  let best = 0
  for (let round = 0; round < rounds; round++) {
    let samples = 0
    const started = performance.now()
    for (const body of encoded.bodies) samples += decodeSamples(encoded.format, encoded.gzip ? zlib.gunzipSync(body) : body).count
    best = Math.max(best, samples / ((performance.now() - started) / 1000))
  }
  return best
}
