// npm run devices -- add <name> | list | revoke <name>
import { addDevice, DeviceError, listDevices, revokeDevice } from '../db/devices.ts'
import type { Database } from '../db/database.ts'
import { runWithDatabase, UsageError } from './run-with-database.ts'

const USAGE = 'usage: npm run devices -- add <name> | list | revoke <name>'
const [command, name, ...extra] = process.argv.slice(2)
const wellFormed = extra.length === 0 && (command === 'list' ? name === undefined : (command === 'add' || command === 'revoke') && name !== undefined)

if (!wellFormed) {
  console.error(`devices: ${USAGE}`)
  process.exitCode = 1
} else {
  await runWithDatabase('devices', manageDevices)
}

async function manageDevices({ pool }: Database): Promise<void> {
  try {
    if (command === 'add') {
      const { token } = await addDevice(pool, name!)
      console.log(`device "${name}" added. Its upload token (shown only now, keep it secret):\n${token}`)
    } else if (command === 'list') {
      const devices = await listDevices(pool)
      if (devices.length === 0) console.log('no devices')
      for (const device of devices) {
        const state = device.revokedAt ? `revoked ${device.revokedAt.toISOString()}` : 'active'
        console.log(`${device.id}\t${device.name}\t${state}\tcreated ${device.createdAt.toISOString()}`)
      }
    } else {
      await revokeDevice(pool, name!)
      console.log(`device "${name}" revoked: its token no longer uploads`)
    }
  } catch (error) {
    // Domain errors ("exists already", "no device named") are usage problems for the user.
    throw error instanceof DeviceError ? new UsageError(error.message) : error
  }
}
