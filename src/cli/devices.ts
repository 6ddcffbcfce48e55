// npm run devices -- add NAME | list [--json] | revoke NAME | rotate NAME | restore NAME
// Exit status: 0 done, 1 the command failed (the name exists, no such device, a bad name), 2 bad usage.
import { addDevice, listDevices, restoreDevice, revokeDevice, rotateToken } from '../db/devices.ts'
import type { Database } from '../db/database.ts'
import { runWithDatabase } from './run-with-database.ts'
import { parseToolArgs, runTool, UsageError } from './usage.ts'

const USAGE = `usage: npm run devices -- add NAME | list [--json] | revoke NAME | rotate NAME | restore NAME

  add NAME      a new device; prints its upload token, once (only a hash is stored)
  list          every device and its state; --json: one JSON array
  revoke NAME   its token stops working (within AUTH_CACHE_TTL, 5 s); its samples stay
  rotate NAME   a new token for an active device; the old one stops working like a revoked one
  restore NAME  a revoked device comes back with a new token, same id, same samples

A NAME has 1 to 64 letters, digits, ".", "_", "-" or "@", starting with a letter or digit.`

const NAMED = new Set(['add', 'revoke', 'rotate', 'restore'])

await runTool('devices', USAGE, async () => {
  const parsed = parse()
  if (parsed.help) {
    console.log(USAGE)
    return 0
  }
  return runWithDatabase('devices', (database) => manageDevices(database, parsed))
})

function parse() {
  const { values, positionals } = parseToolArgs({
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  })
  if (values.help) return { help: true as const }
  const [command, name, ...extra] = positionals
  const wellFormed = extra.length === 0 && (command === 'list' ? name === undefined : NAMED.has(command ?? '') && name !== undefined)
  if (!wellFormed) throw new UsageError(command === undefined ? 'no command given' : `cannot run "${positionals.join(' ')}"`)
  if (values.json && command !== 'list') throw new UsageError('--json goes with list')
  return { help: false as const, command: command!, name, json: values.json }
}

async function manageDevices({ pool }: Database, { command, name, json }: { command: string; name?: string; json: boolean }): Promise<void> {
  switch (command) {
    case 'add': {
      const { token } = await addDevice(pool, name!)
      console.log(`device "${name}" added. Its upload token (shown only now, keep it secret):\n${token}`)
      break
    }
    case 'list': {
      const devices = await listDevices(pool)
      if (json) {
        console.log(JSON.stringify(devices.map((device) => ({ id: device.id, name: device.name, state: device.revokedAt ? 'revoked' : 'active', createdAt: device.createdAt, revokedAt: device.revokedAt }))))
        break
      }
      if (devices.length === 0) console.log('no devices')
      for (const device of devices) {
        const state = device.revokedAt ? `revoked ${device.revokedAt.toISOString()}` : 'active'
        console.log(`${device.id}\t${printable(device.name)}\t${state}\tcreated ${device.createdAt.toISOString()}`)
      }
      break
    }
    case 'revoke':
      await revokeDevice(pool, name!)
      console.log(`device "${name}" revoked: its token no longer uploads`)
      break
    case 'rotate': {
      const { token } = await rotateToken(pool, name!)
      console.log(`device "${name}" has a new token; the old one no longer uploads. The new token (shown only now, keep it secret):\n${token}`)
      break
    }
    case 'restore': {
      const { token } = await restoreDevice(pool, name!)
      console.log(`device "${name}" restored with a new token (shown only now, keep it secret):\n${token}`)
      break
    }
  }
}

/**
 * Names added before names were restricted may hold control characters: printed raw they
 * could move the cursor or forge a line of this listing. Those are shown JSON-escaped.
 */
function printable(name: string): string {
  return /^[\x20-\x7e]*$/.test(name) && !name.includes('\t') ? name : JSON.stringify(name)
}
