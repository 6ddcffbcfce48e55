// A minimal OTLP/HTTP trace receiver (JSON encoding, POST /v1/traces), what a collector or
// Tempo would be to the service: it keeps every request body and every span in them.
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** An OTLP attribute value as the JSON encoding spells it. */
export type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: unknown }
export interface OtlpAttribute {
  key: string
  value: OtlpValue
}

export interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes: OtlpAttribute[]
  status?: { code?: number; message?: string }
  /** The resource of the process that sent it. */
  resource: OtlpAttribute[]
}

interface ExportRequest {
  resourceSpans: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans: { spans: Omit<ReceivedSpan, 'resource'>[] }[] }[]
}

export interface OtlpReceiver {
  /** The base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  endpoint: string
  spans: ReceivedSpan[]
  /** Every request body as received, to search for what must never be exported. */
  bodies: string[]
  /** Resolves with the spans received so far once `done` holds for them. */
  waitFor(done: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>
  close(): Promise<void>
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const bodies: string[] = []
  const waiters = new Set<() => void>()
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces' || !request.headers['content-type']?.startsWith('application/json')) {
        response.writeHead(404).end()
        return
      }
      bodies.push(body)
      for (const resourceSpans of (JSON.parse(body) as ExportRequest).resourceSpans) {
        const resource = resourceSpans.resource?.attributes ?? []
        for (const scope of resourceSpans.scopeSpans) for (const span of scope.spans) spans.push({ ...span, resource })
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      for (const wake of waiters) wake()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    bodies,
    waitFor(done, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!done(spans)) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(spans)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`the spans awaited did not arrive in ${timeoutMs} ms; received: ${spans.map((span) => span.name).join(', ')}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      }),
  }
}

/** The value of attribute `key` (strings, numbers, booleans), undefined when absent. */
export function attribute(attributes: OtlpAttribute[], key: string): string | number | boolean | undefined {
  const value = attributes.find((candidate) => candidate.key === key)?.value
  if (!value) return undefined
  if (value.intValue !== undefined) return Number(value.intValue)
  return value.stringValue ?? value.doubleValue ?? value.boolValue
}
