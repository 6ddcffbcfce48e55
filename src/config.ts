// Every environment variable the service and its tools read, parsed and checked in one
// place. Nothing else in the code base reads process.env: a knob that is not here does not
// exist, and docs/configuration.md's table is written from this file.
import path from 'node:path'

export interface Config {
  /** HTTP listen address for uploads and health checks. */
  host: string
  port: number
  /** Unset: run the embedded TimescaleDB (PGlite) in-process and serve it on the wire protocol. */
  databaseUrl: string | undefined
  /** Where the embedded database keeps its files and the generated `local.token`. */
  dataDir: string
  /** DATA_DIR/local.token: the token of device `local`, written on the embedded default's first start. */
  localTokenFile: string
  embeddedPgHost: string
  embeddedPgPort: number
  /** An outside session that leaves a transaction open this long is ended (embedded only). */
  embeddedIdleInTransactionTimeoutMs: number
  /** An outside SQL client's statement on the embedded database running longer is stopped; 0: no limit. */
  embeddedStatementTimeoutMs: number
  /**
   * EMBEDDED_FSYNC: each commit's WAL reaches stable storage before the commit is answered
   * (PostgreSQL's fsync = on). `off` is unsafe: a power loss can lose acknowledged uploads.
   */
  embeddedFsync: boolean
  /** The `postgres` password on the embedded SQL port; unset: generated into DATA_DIR/postgres.password. */
  embeddedPgPassword: string | undefined
  /** A protocol message declaring more bytes than this ends its connection (54000). */
  embeddedMaxMessageBytes: number
  /** Counted after gunzip, so a small gzip bomb cannot expand past it. */
  maxBodyBytes: number
  dbPoolSize: number
  /**
   * Group commits written at once (src/db/sample-writer.ts), each on a connection of its own.
   * Default: 1 on the embedded database, which runs one transaction at a time anyway; 2 on a
   * server, whose backends write on cores of their own.
   */
  writeGroupsInFlight: number
  /** How long one database connection attempt may take before the upload answers 503. */
  dbConnectTimeoutMs: number
  /** Seconds a client is told to wait (Retry-After) when the database is unavailable. */
  retryAfterSeconds: number
  shutdownTimeoutMs: number
  /** Uploads being read, decoded or written at once; more are refused with 503 + Retry-After. */
  maxUploadsInFlight: number
  /**
   * Bytes of upload bodies (as declared by Content-Length, or the body limit when unknown)
   * admitted at once; beyond it uploads get 503 + Retry-After instead of queueing in memory.
   */
  uploadMemoryBudgetBytes: number
  /** Samples one upload may carry (checked after decoding); more answer 413. */
  maxSamplesPerUpload: number
  /** Sustained samples per second per device (token bucket); beyond the burst: 429 + Retry-After. */
  rateLimitSamplesPerSecond: number
  /** Samples a device may send at once before the rate applies (the bucket's size). */
  rateLimitBurstSamples: number
  /** A request (headers and body) must arrive within this time; slower ones get 408. */
  requestTimeoutMs: number
  /** How long a token's lookup (found or not) is reused: the bound on how late a revocation takes effect. */
  authCacheTtlMs: number
  /** Failed authentications a client address may make at once, and how many more per second. */
  authFailureBurst: number
  authFailuresPerSecond: number
  /** The request headers must arrive within this time (slowloris headers). */
  headersTimeoutMs: number
  /** Bytes of request line and headers together; larger answer 431. */
  maxHeaderBytes: number
  /** Prometheus scrape endpoint (`/metrics`); loopback unless set, so it is not exposed by accident. */
  metricsHost: string
  metricsPort: number
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Raw chunks of the sparse kinds (locations, activity, other) older than this are compressed (COMPRESS_AFTER, default 7d). */
  compressAfterMs: number
  /** Raw acceleration chunks (50 Hz) older than this are compressed (COMPRESS_ACCELERATION_AFTER, default 12h). */
  compressAccelerationAfterMs: number
  /** Raw chunks older than this are dropped (RETAIN_RAW); undefined (`forever`, the default) keeps them. */
  retainRawMs: number | undefined
  /** Continuous-aggregate rows older than this are dropped (RETAIN_AGGREGATES); undefined keeps them. */
  retainAggregatesMs: number | undefined
  /** OpenTelemetry's own OTEL_* variables (see OtelConfig). */
  otel: OtelConfig
}

/**
 * The standard OpenTelemetry variables the service honours. NodeSDK reads most of them from
 * the environment itself (that is what makes them standard); they are named here with the
 * service's defaults and checked at startup, so a typo fails like any other setting instead
 * of being ignored with a warning. Where the service's default differs from the SDK's
 * (OTEL_TRACES_EXPORTER), the value here is what the SDK is handed.
 */
export interface OtelConfig {
  /** OTEL_SDK_DISABLED: no traces and no metrics (`/metrics` then serves nothing). */
  sdkDisabled: boolean
  /** OTEL_SERVICE_NAME: service.name of traces and of Prometheus' target_info. */
  serviceName: string
  /** OTEL_TRACES_EXPORTER: `none` (the default here; the SDK's own default is `otlp`), `otlp` or `console`. */
  tracesExporter: 'none' | 'otlp' | 'console'
  /** OTEL_EXPORTER_OTLP_PROTOCOL (or its _TRACES_ form): how `otlp` sends. */
  otlpProtocol: 'http/protobuf' | 'http/json' | 'grpc'
  /** OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, used as given). */
  otlpEndpoint: string
  /** OTEL_TRACES_SAMPLER: one of the SDK's built-in samplers. */
  tracesSampler: (typeof TRACES_SAMPLERS)[number]
  /** OTEL_TRACES_SAMPLER_ARG: the ratio of the *traceidratio samplers, 0..1. */
  tracesSamplerRatio: number
}

/**
 * Read by NodeSDK as they are, with the SDK's defaults (docs/configuration.md has a row each);
 * named here so that this file lists every variable the service honours.
 */
export const OTEL_SDK_VARIABLES = [
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  'OTEL_PROPAGATORS',
  'OTEL_LOG_LEVEL',
] as const

/** The samplers NodeSDK builds from OTEL_TRACES_SAMPLER. */
export const TRACES_SAMPLERS = [
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
  'always_on',
  'always_off',
  'traceidratio',
] as const

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Env = Record<string, string | undefined>

const MiB = 1024 * 1024

type LogLevel = Config['logLevel']

/** `defaults` lets a command-line tool be quieter than the service unless LOG_LEVEL is set. */
export function loadConfig(env: Env = process.env, defaults: { logLevel?: LogLevel } = {}): Config {
  const databaseUrl = nonEmpty(env.DATABASE_URL)
  const config: Config = {
    host: env.HOST?.trim() || '0.0.0.0',
    port: port(env, 'PORT', 8080),
    databaseUrl,
    dataDir: dataDir(env),
    localTokenFile: localTokenPath(dataDir(env)),
    embeddedPgHost: env.EMBEDDED_PG_HOST?.trim() || '127.0.0.1',
    embeddedPgPort: port(env, 'EMBEDDED_PG_PORT', 5433),
    embeddedIdleInTransactionTimeoutMs: duration(env, 'EMBEDDED_IDLE_IN_TRANSACTION_TIMEOUT', 5_000),
    // As long as Grafana's own data source waits for a query (30 s): a dashboard never needs
    // more, and an upload waiting behind a forgotten query still answers within REQUEST_TIMEOUT.
    embeddedStatementTimeoutMs: duration(env, 'EMBEDDED_STATEMENT_TIMEOUT', 30_000),
    embeddedFsync: onOff(env, 'EMBEDDED_FSYNC', true),
    embeddedPgPassword: nonEmpty(env.EMBEDDED_PG_PASSWORD),
    embeddedMaxMessageBytes: integer(env, 'EMBEDDED_PG_MAX_MESSAGE_BYTES', 64 * MiB, { min: 64 * 1024, max: 1024 * MiB }),
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 64 * MiB, { min: 1024 }),
    dbPoolSize: integer(env, 'DB_POOL_SIZE', 8, { min: 1, max: 1000 }),
    writeGroupsInFlight: integer(env, 'WRITE_GROUPS_IN_FLIGHT', defaultWriteGroupsInFlight(databaseUrl), { min: 1, max: 64 }),
    dbConnectTimeoutMs: duration(env, 'DB_CONNECT_TIMEOUT', 5_000),
    retryAfterSeconds: integer(env, 'RETRY_AFTER_SECONDS', 5, { min: 1, max: 3600 }),
    shutdownTimeoutMs: duration(env, 'SHUTDOWN_TIMEOUT', 10_000),
    maxUploadsInFlight: integer(env, 'MAX_UPLOADS_IN_FLIGHT', 16, { min: 1, max: 10_000 }),
    uploadMemoryBudgetBytes: integer(env, 'UPLOAD_MEMORY_BUDGET_BYTES', 256 * MiB, { min: 1024 }),
    maxSamplesPerUpload: integer(env, 'MAX_SAMPLES_PER_UPLOAD', 100_000, { min: 1 }),
    // A phone sends about 51 samples/s (50 Hz acceleration, a few locations and activities).
    // 2000/s is 40 phones' worth per device: a day recorded offline (4.3 M samples) catches up
    // in about half an hour, while a runaway or stolen token cannot flood the database.
    rateLimitSamplesPerSecond: integer(env, 'RATE_LIMIT_SAMPLES_PER_SECOND', 2000, { min: 1 }),
    // The bucket's size: the first million samples (several hours at 50 Hz) go through at once.
    rateLimitBurstSamples: integer(env, 'RATE_LIMIT_BURST', 1_000_000, { min: 1 }),
    requestTimeoutMs: duration(env, 'REQUEST_TIMEOUT', 60_000),
    authCacheTtlMs: duration(env, 'AUTH_CACHE_TTL', 5_000),
    // A device with a typo in its token fails a few times; a guesser fails thousands of times.
    authFailureBurst: integer(env, 'AUTH_FAILURE_BURST', 20, { min: 1 }),
    authFailuresPerSecond: integer(env, 'AUTH_FAILURES_PER_SECOND', 1, { min: 1 }),
    headersTimeoutMs: duration(env, 'HEADERS_TIMEOUT', 10_000),
    maxHeaderBytes: integer(env, 'MAX_HEADER_BYTES', 16 * 1024, { min: 1024, max: 1024 * 1024 }),
    metricsHost: env.METRICS_HOST?.trim() || '127.0.0.1',
    metricsPort: port(env, 'METRICS_PORT', 9464),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], defaults.logLevel ?? 'info'),
    compressAfterMs: duration(env, 'COMPRESS_AFTER', 7 * DURATION_UNITS_MS.d!),
    // 50 Hz is about 1 GB per device-day uncompressed and 11x less compressed: its 6-hour
    // chunks are compressed once they are half a day old (late uploads still go in).
    compressAccelerationAfterMs: duration(env, 'COMPRESS_ACCELERATION_AFTER', 12 * DURATION_UNITS_MS.h!),
    retainRawMs: durationOrForever(env, 'RETAIN_RAW'),
    retainAggregatesMs: durationOrForever(env, 'RETAIN_AGGREGATES'),
    otel: otelConfig(env),
  }
  // A generated password sits in a file any local process of the same user can read; beyond
  // loopback the SQL port is reachable by others, so the operator chooses the password.
  if (!config.databaseUrl && !isLoopback(config.embeddedPgHost) && !config.embeddedPgPassword) {
    throw new ConfigError(`EMBEDDED_PG_HOST=${config.embeddedPgHost} listens beyond loopback: set EMBEDDED_PG_PASSWORD to the password SQL clients must give, or keep the default 127.0.0.1`)
  }
  // Each group holds a connection, and one more while the next starts beside its commit; the
  // device lookups and the job runner need theirs.
  if (config.writeGroupsInFlight + 2 > config.dbPoolSize) {
    throw new ConfigError(`WRITE_GROUPS_IN_FLIGHT (${config.writeGroupsInFlight}) needs DB_POOL_SIZE of at least ${config.writeGroupsInFlight + 2}, not ${config.dbPoolSize}`)
  }
  // An upload larger than the bucket could never pass the rate limit, however long it waited.
  if (config.rateLimitBurstSamples < config.maxSamplesPerUpload) {
    throw new ConfigError(`RATE_LIMIT_BURST (${config.rateLimitBurstSamples}) must be at least MAX_SAMPLES_PER_UPLOAD (${config.maxSamplesPerUpload})`)
  }
  return config
}

/** WRITE_GROUPS_IN_FLIGHT's default: the embedded engine runs one transaction at a time; a server writes three groups at once. */
export function defaultWriteGroupsInFlight(databaseUrl: string | undefined): number {
  return databaseUrl ? 3 : 1
}

/** What the upload client (`npm run send`) reads from the environment. */
export interface ClientConfig {
  /** `TELEMETRY_TOKEN`: the device's bearer token, when `--token` does not give one. */
  token: string | undefined
  /** A local service's `local.token` (the client's fallback against localhost). */
  localTokenFile: string
  /** `TELEMETRY_URL`: the service's base URL, when `--url` does not give one. */
  url: string
}

export function loadClientConfig(env: Env = process.env): ClientConfig {
  return { token: nonEmpty(env.TELEMETRY_TOKEN), localTokenFile: localTokenPath(dataDir(env)), url: nonEmpty(env.TELEMETRY_URL) ?? 'http://localhost:8080' }
}

function otelConfig(env: Env): OtelConfig {
  const protocol = ['http/protobuf', 'http/json', 'grpc'] as const
  const tracesProtocol = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL'
  const tracesEndpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT'
  const otlpProtocol = oneOf(env, tracesProtocol, protocol, 'http/protobuf')
  const otlpEndpoint = nonEmpty(env[tracesEndpoint]) ?? (otlpProtocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318')
  if (!isHttpUrl(otlpEndpoint)) throw new ConfigError(`${tracesEndpoint} must be a URL such as http://tempo:4318, got ${JSON.stringify(otlpEndpoint)}`)
  return {
    // The SDK reads this one case-insensitively.
    sdkDisabled: oneOf({ OTEL_SDK_DISABLED: env.OTEL_SDK_DISABLED?.toLowerCase() }, 'OTEL_SDK_DISABLED', ['true', 'false'], 'false') === 'true',
    serviceName: nonEmpty(env.OTEL_SERVICE_NAME) ?? 'telemetry-store',
    tracesExporter: oneOf(env, 'OTEL_TRACES_EXPORTER', ['none', 'otlp', 'console'], 'none'),
    otlpProtocol,
    otlpEndpoint,
    tracesSampler: oneOf(env, 'OTEL_TRACES_SAMPLER', TRACES_SAMPLERS, 'parentbased_always_on'),
    tracesSamplerRatio: ratio(env, 'OTEL_TRACES_SAMPLER_ARG', 1),
  }
}

function isHttpUrl(value: string): boolean {
  try {
    return /^https?:$/.test(new URL(value).protocol)
  } catch {
    return false
  }
}

function ratio(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env[name])
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new ConfigError(`${name} must be a number from 0 to 1, got ${JSON.stringify(raw)}`)
  return value
}

function dataDir(env: Env): string {
  return path.resolve(env.DATA_DIR?.trim() || './data')
}

/** Where the service leaves device `local`'s token in a data directory, and the client finds it. */
export function localTokenPath(dataDir: string): string {
  return path.join(dataDir, 'local.token')
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed ? trimmed : undefined
}

function integer(env: Env, name: string, fallback: number, range: WholeNumberRange = {}): number {
  const raw = nonEmpty(env[name])
  return raw === undefined ? fallback : parseWholeNumber(name, raw, range)
}

export interface WholeNumberRange {
  min?: number
  max?: number
}

/**
 * A whole number within `range`, for a variable or a command-line flag named `name`; the one
 * integer parser of the service and its tools (the tools turn the ConfigError into a usage error).
 */
export function parseWholeNumber(name: string, raw: string, range: WholeNumberRange = {}): number {
  const value = Number(raw)
  const outside = (range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max)
  if (!/^\d+$/.test(raw) || outside) throw new ConfigError(`${name} must be a whole number${rangeText(range)}, got ${JSON.stringify(raw)}`)
  return value
}

function rangeText({ min, max }: WholeNumberRange): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`
  if (min !== undefined) return ` >= ${min}`
  return max === undefined ? '' : ` <= ${max}`
}

/** 0 asks the operating system for a free port (what the tests use). */
function port(env: Env, name: string, fallback: number): number {
  return integer(env, name, fallback, { min: 0, max: 65535 })
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `500ms`, `10s`, `5m`, `2h`, `7d`, or a bare number of milliseconds. */
export function parseDurationMs(name: string, raw: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(raw.trim())
  if (!match) throw new ConfigError(`${name} must be a duration like 500ms, 10s, 5m, 2h or 7d, got ${JSON.stringify(raw)}`)
  return Math.round(Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 'ms']!)
}

function duration(env: Env, name: string, fallbackMs: number): number {
  const raw = nonEmpty(env[name])
  return raw === undefined ? fallbackMs : parseDurationMs(name, raw)
}

/** A duration, or `forever` (also the default): no limit. */
function durationOrForever(env: Env, name: string): number | undefined {
  const raw = nonEmpty(env[name])
  return raw === undefined || raw === 'forever' ? undefined : parseDurationMs(name, raw)
}

/** PostgreSQL's spellings of a boolean setting: on/off, true/false, yes/no, 1/0. */
function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env[name])?.toLowerCase()
  if (raw === undefined) return fallback
  if (['on', 'true', 'yes', '1'].includes(raw)) return true
  if (['off', 'false', 'no', '0'].includes(raw)) return false
  throw new ConfigError(`${name} must be on or off, got ${JSON.stringify(raw)}`)
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = nonEmpty(env[name])
  if (raw === undefined) return fallback
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`)
  }
  return raw as T
}
