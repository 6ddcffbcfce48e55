// What the spans of an upload record below the HTTP server span: reading and decoding the body, and
// writing the samples (the pg spans of its queries nest under it). With tracing off they cost
// a no-op span each.
import { trace, type Attributes } from '@opentelemetry/api'
import type { MiddlewareHandler } from 'hono'
import { matchedRoutes } from 'hono/route'
import type { BodyFormat, CountsByKind } from '../codec/index.ts'

/** What the `upload.decode` span records of a body. */
export function decodedUploadAttributes(format: BodyFormat, bytes: number, byKind: CountsByKind): Attributes {
  return {
    'upload.format': format,
    'upload.bytes': bytes,
    'upload.samples': byKind.location + byKind.activity + byKind.acceleration + byKind.other,
    'upload.samples.location': byKind.location,
    'upload.samples.activity': byKind.activity,
    'upload.samples.acceleration': byKind.acceleration,
    'upload.samples.other': byKind.other,
  }
}

/**
 * Names the HTTP server span after the route (`POST /v1/samples`, not just `POST`) and adds the
 * device that authenticated, by id: the token itself never reaches a span.
 */
export function describeServerSpan(): MiddlewareHandler<{ Variables: { device?: { id: number } } }> {
  return async function describeServerSpan(c, next) {
    const span = trace.getActiveSpan()
    try {
      await next()
    } finally {
      if (span?.isRecording()) {
        const route = matchedRoutes(c).findLast((candidate) => candidate.method !== 'ALL')?.path
        if (route !== undefined) span.updateName(`${c.req.method} ${route}`).setAttribute('http.route', route)
        const device = c.get('device')
        if (device) span.setAttribute('device.id', device.id)
      }
    }
  }
}
