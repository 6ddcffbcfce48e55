// Wiring only: config -> database -> migrations -> HTTP server -> graceful shutdown.
import type { Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { loadConfig, type Config } from './config.ts'
import { redactedUrl, type Database } from './db/database.ts'
import { ensureLocalDevice } from './db/local-device.ts'
import { startJobRunner } from './db/job-runner.ts'
import { createApp } from './http/app.ts'
import { ingestStore } from './db/ingest-store.ts'
import { manageConnections } from './http/connections.ts'
import { holdStopSignals, openPreparedDatabase, reportFailure, stopOnSignals } from './lifecycle.ts'
import { createLogger, type Logger } from './logger.ts'
import { startTelemetry } from './telemetry/index.ts'
import { checkFreeToStart, portInUse } from './startup-ports.ts'

async function main(): Promise<void> {
  holdStopSignals()
  const config = loadConfig()
  const logger = createLogger(config)
  // Before anything is migrated or created: a busy port stops the start here, in one line.
  await checkFreeToStart(config)
  // A port taken between the check and the real listener is reported the same way.
  const database = await openPreparedDatabase(config, logger).catch((error: unknown) => {
    throw portInUse(error, config) ?? error
  })
  try {
    await serveUntilSignal(config, logger, database)
  } catch (error) {
    // Whatever failed after the database opened, close it: the embedded one removes its lock.
    await database.close().catch(() => {})
    throw portInUse(error, config) ?? error
  }
}

async function serveUntilSignal(config: Config, logger: Logger, database: Database): Promise<void> {
  if (database.embedded) await ensureLocalDevice(database.pool, config.localTokenFile, logger)

  const telemetry = await startTelemetry(config)
  telemetry.observePool(database.pool)
  // The embedded build has no background workers: the service runs TimescaleDB's policies
  // itself and counts the runs; a server runs them and keeps the counts in job_stats.
  if (!database.embedded) telemetry.observeTimescaleJobStats(database.pool)
  const timescaleJobs = database.embedded ? startJobRunner(database.pool, logger, { onJobRun: telemetry.timescaleJobRunCounter() }) : undefined
  const app = createApp({ ...config, ...ingestStore(database.pool, config.writeGroupsInFlight), logger, telemetry, engineFailure: () => database.embedded?.health.failure })
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
  const connections = manageConnections(server as HttpServer)
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  }).catch(async (error: unknown) => {
    await timescaleJobs?.stop()
    await telemetry.shutdown()
    throw error
  })
  const httpPort = (server.address() as AddressInfo).port

  logger.info(
    {
      http: `http://${config.host}:${httpPort}`,
      metrics: `http://${config.metricsHost}:${telemetry.metricsPort}/metrics`,
      traces: telemetry.traces,
      database: redactedUrl(database.url),
      embedded: database.embedded ? { dataDir: config.dataDir, tokenFile: config.localTokenFile } : undefined,
    },
    'ready',
  )

  stopOnSignals(async (signal) => {
    logger.info({ signal }, 'shutting down: no new requests, finishing uploads in flight')
    const drained = connections.close()
    const deadline = new Promise<'timeout'>((resolve) => setTimeout(resolve, config.shutdownTimeoutMs, 'timeout').unref())
    if ((await Promise.race([drained, deadline])) === 'timeout') {
      logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'uploads still in flight at the shutdown timeout; closing their connections')
      connections.closeAll()
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
