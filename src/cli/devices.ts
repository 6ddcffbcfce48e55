// npm run devices -- add <name> | list | revoke <name>
import { addDevice, DeviceError, listDevices, revokeDevice } from '../db/devices.ts'
import { runWithDatabase, UsageError } from './run-with-database.ts'

const USAGE = 'usage: npm run devices -- add <name> | list | revoke <name>'
const [command, name, ...extra] = process.argv.slice(2)

await runWithDatabase('devices', async ({ pool }) => {
  try {
    if (command === 'add' && name && extra.length === 0) {
      const { token } = await addDevice(pool, name)
      console.log(`device "${name}" added. Its upload token (shown only now, keep it secret):\n${token}`)
    } else if (command === 'list' && !name) {
      const devices = await listDevices(pool)
      if (devices.length === 0) console.log('no devices')
      for (const device of devices) {
        const state = device.revokedAt ? `revoked ${device.revokedAt.toISOString()}` : 'active'
        console.log(`${device.id}\t${device.name}\t${state}\tcreated ${device.createdAt.toISOString()}`)
      }
    } else if (command === 'revoke' && name && extra.length === 0) {
      await revokeDevice(pool, name)
      console.log(`device "${name}" revoked: its token no longer uploads`)
    } else {
      throw new UsageError(USAGE)
    }
  } catch (error) {
    // Domain errors ("exists already", "no device named") are usage problems for the user.
    throw error instanceof DeviceError ? new UsageError(error.message) : error
  }
})
