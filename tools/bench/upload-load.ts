// The service figures' load, driven from a process of its own (load-process.ts): bodies are
// encoded beforehand and handed over in one file, so the clock and the service's CPU time
// cover the service's work, not the client's encoding.
import fs from 'node:fs'
import path from 'node:path'
import { runToExit, spawnEntry } from '../../test/support/project-process.ts'
import type { BenchService } from './service-process.ts'

export interface UploadLoadResult {
  uploads: number
  seconds: number
  /** Per upload, from sending to the whole answer read. */
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** CPU time the service process used while the load ran. */
  serviceCpuSeconds: number
  /** CPU time of the load process itself (it shares the machine's cores with the service). */
  loadCpuSeconds: number
  /** CPU time of the whole machine (every process: load, service, database, kernel) meanwhile. */
  machineCpuSeconds: number
  /** How busy the machine's cores were meanwhile, 0..1: near 1, the machine itself is the limit. */
  machineBusyShare: number
  /** Uploads sent again after their connection failed before any answer (load-process.ts). */
  resent: number
}

/** Bodies as one file: each a 4-byte big-endian length, then its bytes. */
export function writeBodies(file: string, bodies: readonly Uint8Array[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const parts: Uint8Array[] = []
  for (const body of bodies) {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(body.length)
    parts.push(length, body)
  }
  fs.writeFileSync(file, Buffer.concat(parts))
  return file
}

export function readBodies(file: string): Buffer[] {
  const bytes = fs.readFileSync(file)
  const bodies: Buffer[] = []
  for (let at = 0; at < bytes.length; at += 4 + bytes.readUInt32BE(at)) bodies.push(bytes.subarray(at + 4, at + 4 + bytes.readUInt32BE(at)))
  return bodies
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], share: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!
}

/** Posts every body of `bodiesFile` to the service from a load process; throws unless all got 200. */
export async function runUploadLoad(options: { service: BenchService; token: string; bodiesFile: string; contentType: string; clients: number }): Promise<UploadLoadResult> {
  const args = ['--url', `${options.service.baseUrl}/v1/samples`, '--token', options.token, '--content-type', options.contentType, '--clients', String(options.clients), '--bodies', options.bodiesFile, '--service-pid', String(options.service.pid)]
  const { code, stdout, stderr } = await runToExit(spawnEntry('tools/bench/load-process.ts', args, {}))
  if (code !== 0) throw new Error(`the load process failed (exit ${code}): ${stderr}`)
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as UploadLoadResult
}
