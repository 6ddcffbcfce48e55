// Wiring only: config -> database -> migrations -> HTTP server -> graceful shutdown.
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { loadConfig } from './config.ts'
import { redactedUrl } from './db/database.ts'
import { ensureLocalDevice, localTokenPath } from './db/local-device.ts'
import { startJobRunner } from './db/job-runner.ts'
import { createApp } from './http/app.ts'
import { openPreparedDatabase, reportFailure, stopOnSignals } from './lifecycle.ts'
import { createLogger } from './logger.ts'
import { startTelemetry } from './telemetry/index.ts'

async function main(): Promise<void> {
  const config = loadConfig()
  const logger = createLogger(config)
  const database = await openPreparedDatabase(config, logger)
  if (database.embedded) await ensureLocalDevice(database.pool, config.dataDir, logger)

  const telemetry = await startTelemetry(config)
  telemetry.observePool(database.pool)
  // The embedded build has no background workers: the service runs TimescaleDB's policies
  // itself and counts the runs; a server runs them and keeps the counts in job_stats.
  if (!database.embedded) telemetry.observeTimescaleJobStats(database.pool)
  const timescaleJobs = database.embedded ? startJobRunner(database.pool, logger, { onJobRun: telemetry.timescaleJobRunCounter() }) : undefined
  const app = createApp({ ...config, pool: database.pool, logger, telemetry, engineFailure: () => database.embedded?.health.failure })
  const server = serve({
    fetch: app.fetch,
    port: config.port,
    hostname: config.host,
    // Slow or oversized requests are cut off by Node itself (408 / 431) before they reach the app.
    serverOptions: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: Math.min(config.headersTimeoutMs, config.requestTimeoutMs),
      maxHeaderSize: config.maxHeaderBytes,
      // How often those timeouts are checked (Node's default is 30 s).
      connectionsCheckingInterval: 1000,
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const httpPort = (server.address() as AddressInfo).port

  logger.info(
    {
      http: `http://${config.host}:${httpPort}`,
      metrics: `http://${config.metricsHost}:${telemetry.metricsPort}/metrics`,
      traces: telemetry.traces,
      database: redactedUrl(database.url),
      embedded: database.embedded ? { dataDir: config.dataDir, tokenFile: localTokenPath(config.dataDir) } : undefined,
    },
    'ready',
  )

  stopOnSignals(async (signal) => {
    logger.info({ signal }, 'shutting down: no new requests, finishing uploads in flight')
    const drained = new Promise<void>((resolve) => server.close(() => resolve()))
    const deadline = new Promise<'timeout'>((resolve) => setTimeout(resolve, config.shutdownTimeoutMs, 'timeout').unref())
    if ((await Promise.race([drained, deadline])) === 'timeout') {
      logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'uploads still in flight at the shutdown timeout; closing their connections')
      ;(server as import('node:http').Server).closeAllConnections()
    }
    await timescaleJobs?.stop()
    await database.close()
    await telemetry.shutdown()
    logger.info('stopped')
  }, database.embedded && { health: database.embedded.health, logger })
}

main().catch((error: unknown) => {
  reportFailure('telemetry-store', error)
  process.exit(1)
})
