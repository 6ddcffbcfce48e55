// What tracing costs the service: the same small uploads against instances that differ only
// in their OTEL_* settings, measured as CPU time of the service process per upload. CPU time
// is read from /proc: on a machine shared with other work it moves far less than wall-clock
// throughput, which the figures quote beside it.
import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { BenchService } from './service-process.ts'
import { CONTENT_TYPES } from '../../src/codec/index.ts'
import { runUploadLoad } from './upload-load.ts'

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

/** Posts `bodies` from `clients` concurrent clients of a load process and measures the service meanwhile. */
export async function measureRound(service: BenchService, token: string, bodiesFile: string, uploads: number, samplesPerUpload: number, clients: number): Promise<RoundFigures> {
  const load = await runUploadLoad({ service, token, bodiesFile, contentType: CONTENT_TYPES.collection, clients })
  return { cpuMsPerUpload: (load.serviceCpuSeconds * 1000) / uploads, samplesPerSecond: (uploads * samplesPerUpload) / load.seconds, p50Ms: load.p50Ms, p99Ms: load.p99Ms }
}
