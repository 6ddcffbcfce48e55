// The HTTP surface of the service, as a Hono app (served by @hono/node-server in main.ts).
import { Hono, type Context } from 'hono'
import { requestId } from 'hono/request-id'
import type { Config } from '../config.ts'
import type { IngestStore } from '../db/ingest-store.ts'
import type { Logger } from '../logger.ts'
import type { Telemetry } from '../telemetry/index.ts'
import type { IngestMetrics } from '../telemetry/ingest-metrics.ts'
import { requireDevice, type AuthVariables } from './auth.ts'
import { authFailureLimit } from './auth-failure-limit.ts'
import { cachedDeviceLookup } from './device-cache.ts'
import { ApiError, errorResponse } from './errors.ts'
import { healthRoutes, type EngineFailure } from './health-routes.ts'
import { rawBodyLimit } from './body-limit.ts'
import { payloadTooLarge } from './upload-body.ts'
import { observeUploads, type UploadVariables } from './upload-observer.ts'
import { admitUploads } from './upload-admission.ts'
import { deviceRateLimit } from './device-rate-limit.ts'
import { uploadSamples } from './upload-route.ts'

/** The settings the app reads, by their Config names. */
export type AppConfig = Pick<
  Config,
  | 'maxBodyBytes'
  | 'retryAfterSeconds'
  | 'maxUploadsInFlight'
  | 'uploadMemoryBudgetBytes'
  | 'maxSamplesPerUpload'
  | 'rateLimitSamplesPerSecond'
  | 'rateLimitBurstSamples'
  | 'authCacheTtlMs'
  | 'authFailureBurst'
  | 'authFailuresPerSecond'
>

/** What the app needs besides its settings: the database's functions (never a pool), a log, metrics. */
export interface AppOptions extends AppConfig, IngestStore {
  logger: Logger
  telemetry: Pick<Telemetry, 'httpMiddleware'> & IngestMetrics
  /** The embedded engine's fatal failure, if any: /healthz answers 503 with it. */
  engineFailure?: EngineFailure
}

type Variables = AuthVariables & UploadVariables

export function createApp(options: AppOptions): Hono<{ Variables: Variables }> {
  const app = new Hono<{ Variables: Variables }>()
  app.use('*', options.telemetry.httpMiddleware)
  // Every answer carries X-Request-Id (the client's own, when it sent a well-formed one); a 500
  // names it, and the log line of its cause has it.
  app.use('*', requestId())
  const rateLimit = deviceRateLimit({ samplesPerSecond: options.rateLimitSamplesPerSecond, burstSamples: options.rateLimitBurstSamples })
  const devices = cachedDeviceLookup(options.findDevice, { ttlMs: options.authCacheTtlMs, maxEntries: 100_000 })
  const failures = authFailureLimit({ burst: options.authFailureBurst, perSecond: options.authFailuresPerSecond })
  const upload = [
    observeUploads(options.telemetry),
    // First of the work, before the body: the token (from the cache mostly; guessers from one
    // address are cut off after a few failures), so traffic without a valid token never takes
    // an upload slot from a real device.
    requireDevice({ devices, failures, retryAfterSeconds: options.retryAfterSeconds }),
    // Beyond capacity an upload costs neither a body read nor a query.
    admitUploads({
      maxInFlight: options.maxUploadsInFlight,
      memoryBudgetBytes: options.uploadMemoryBudgetBytes,
      maxBodyBytes: options.maxBodyBytes,
      retryAfterSeconds: options.retryAfterSeconds,
    }),
    // Raw bytes on the wire; readUploadBody applies the same limit again after gunzip.
    rawBodyLimit(options.maxBodyBytes, () => {
      throw payloadTooLarge(options.maxBodyBytes)
    }),
    uploadSamples({ ...options, rateLimit, metrics: options.telemetry }),
  ] as const
  app.post('/v1/samples', ...upload)
  // Where clients written for the first version of the API post.
  app.post('/samples', ...upload)
  // The route exists, the method does not (a browser or a curl without -X POST): say so.
  app.all('/v1/samples', methodNotAllowed)
  app.all('/samples', methodNotAllowed)
  app.route('/', healthRoutes(options.ping, options.retryAfterSeconds, options.engineFailure))
  app.notFound((c) => errorResponse(new ApiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`), c, options.logger))
  app.onError((error, c) => errorResponse(error, c, options.logger))
  return app
}

function methodNotAllowed(c: Context): never {
  throw new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed on ${c.req.path}: upload samples with POST`, undefined, { Allow: 'POST' })
}
