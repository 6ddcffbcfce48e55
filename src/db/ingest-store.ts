// What the HTTP layer asks of the database, as plain functions over one pool: the app holds
// these, never the pool, so every statement the service runs lives in src/db/ and the app can
// be driven in process with stand-ins (test/app.test.ts).
import type { CountsByKind, SampleBatch } from '../codec/index.ts'
import { findDeviceByToken, type Device } from './devices.ts'
import type { Pool } from './pool.ts'
import { sampleWriter } from './sample-writer.ts'

export interface IngestStore {
  /** The device a bearer token belongs to; undefined for an unknown or revoked token. */
  findDevice(token: string): Promise<Device | undefined>
  /** Stores one upload of a device, all of it or nothing; resolves with the rows inserted per kind. */
  writeSamples(deviceId: number, batch: SampleBatch): Promise<CountsByKind>
  /** Resolves once the database answers a query (readiness); rejects with its error. */
  ping(): Promise<void>
}

/** `writeGroupsInFlight`: WRITE_GROUPS_IN_FLIGHT (config.ts). */
export function ingestStore(pool: Pool, writeGroupsInFlight: number): IngestStore {
  const writer = sampleWriter(pool, writeGroupsInFlight)
  return {
    findDevice: (token) => findDeviceByToken(pool, token),
    writeSamples: (deviceId, batch) => writer.submit({ deviceId, batch }),
    ping: async () => {
      await pool.query('select 1')
    },
  }
}
