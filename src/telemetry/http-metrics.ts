// HTTP server request duration by route pattern, method and status, named as the OpenTelemetry
// semantic conventions name it, so dashboards written for other services read ours too.
import type { Meter } from '@opentelemetry/api'
import type { MiddlewareHandler } from 'hono'
import { matchedRoutes } from 'hono/route'

/**
 * Measures every request that passes through it. Mount it first so that it times the whole
 * chain, including authentication and error mapping:
 *
 * ```ts
 * app.use('*', telemetry.httpMiddleware)
 * ```
 */
export function httpServerMetrics(meter: Meter): MiddlewareHandler {
  const requestDuration = meter.createHistogram('http.server.request.duration', {
    description: 'Duration of HTTP server requests.',
    unit: 's',
  })
  return async function recordRequestDuration(c, next) {
    const started = performance.now()
    let failed = false
    try {
      await next()
    } catch (error) {
      failed = true
      throw error
    } finally {
      const attributes: Record<string, string | number> = {
        'http.request.method': c.req.method,
        // Hono maps a thrown error to a response below this middleware; one that escapes is a 500.
        'http.response.status_code': failed ? 500 : c.res.status,
      }
      const route = routePattern(c)
      // Requests that matched no route carry no http.route: their paths are whatever a scanner
      // sent, and one series per path would grow without bound.
      if (route !== undefined) attributes['http.route'] = route
      if (failed) attributes['error.type'] = '500'
      else if (c.res.status >= 500) attributes['error.type'] = String(c.res.status)
      requestDuration.record((performance.now() - started) / 1000, attributes)
    }
  }
}

/**
 * The pattern of the handler the request was routed to (`/v1/samples`, `/devices/:id`).
 * Middleware is registered with `use` (method ALL), so the last method-specific route is the
 * handler, even when a middleware such as authentication answered before reaching it.
 */
function routePattern(c: Parameters<MiddlewareHandler>[0]): string | undefined {
  return matchedRoutes(c).findLast((route) => route.method !== 'ALL')?.path
}
