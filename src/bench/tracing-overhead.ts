// What tracing costs the service: the same small uploads against instances that differ only
// in their OTEL_* settings, measured as CPU time of the service process per upload. CPU time
// is read from /proc: on a machine shared with other work it moves far less than wall-clock
// throughput, which the figures quote beside it.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { BenchService } from './service-process.ts'
import { postSmallUploads } from './small-uploads.ts'

export interface TracingMode {
  name: string
  env: Record<string, string>
}

/** Off (the default), exported at `ratio` of root traces, and exported for every upload. */
export function tracingModes(sinkEndpoint: string, ratio: number): TracingMode[] {
  const exported = { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: sinkEndpoint }
  return [
    { name: 'off', env: { OTEL_TRACES_EXPORTER: 'none' } },
    { name: `ratio ${ratio}`, env: { ...exported, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(ratio) } },
    { name: 'every upload', env: { ...exported, OTEL_TRACES_SAMPLER: 'always_on' } },
  ]
}

export interface OtlpSink {
  endpoint: string
  exports: number
  close(): Promise<void>
}

/** Accepts every OTLP/HTTP export with an empty success answer, as a collector would. */
export async function startOtlpSink(): Promise<OtlpSink> {
  const sink = { exports: 0 } as OtlpSink
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      sink.exports++
      response.writeHead(200, { 'content-type': request.headers['content-type'] ?? 'application/x-protobuf' }).end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  sink.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  sink.close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  return sink
}

export interface RoundFigures {
  cpuMsPerUpload: number
  samplesPerSecond: number
  p50Ms: number
  p99Ms: number
}

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())

/** User + system CPU seconds a process has used (fields 14 and 15 of /proc/<pid>/stat). */
export function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
}

/** Posts `bodies` from `clients` concurrent clients and measures the service meanwhile. */
export async function measureRound(service: BenchService, token: string, bodies: readonly Uint8Array[], samplesPerUpload: number, clients: number): Promise<RoundFigures> {
  const cpuBefore = processCpuSeconds(service.pid)
  const uploads = await postSmallUploads(service, token, bodies, samplesPerUpload, clients)
  const cpuSeconds = processCpuSeconds(service.pid) - cpuBefore
  return { cpuMsPerUpload: (cpuSeconds * 1000) / bodies.length, samplesPerSecond: uploads.samplesPerSecond, p50Ms: uploads.p50Ms, p99Ms: uploads.p99Ms }
}

