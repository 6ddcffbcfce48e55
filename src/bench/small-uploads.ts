// Many small uploads at once: `clients` concurrent clients, each posting 100-sample
// SampleCollections back to back. What a fleet of phones syncing every few seconds does.
import { CONTENT_TYPES } from '../codec/index.ts'
import type { BenchService } from './service-process.ts'

export interface SmallUploadsResult {
  clients: number
  samplesPerUpload: number
  uploads: number
  samplesPerSecond: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

export async function postSmallUploads(service: BenchService, token: string, bodies: readonly Uint8Array[], samplesPerUpload: number, clients: number): Promise<SmallUploadsResult> {
  const latencies: number[] = []
  let next = 0
  const client = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!
      const started = performance.now()
      const response = await fetch(`${service.baseUrl}/v1/samples`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': CONTENT_TYPES.collection },
        body,
      })
      const answer = await response.text()
      if (!response.ok) throw new Error(`small upload refused: HTTP ${response.status} ${answer}`)
      latencies.push(performance.now() - started)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: clients }, client))
  const seconds = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return {
    clients,
    samplesPerUpload,
    uploads: latencies.length,
    samplesPerSecond: (latencies.length * samplesPerUpload) / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? 0,
  }
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], share: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!
}
