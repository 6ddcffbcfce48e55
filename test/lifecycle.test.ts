// The embedded default over the life of a data directory: first start, the devices tool
// while the service runs, a clean stop, and a restart that finds everything again.
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture } from './support/fixtures.ts'
import { runToExit, spawnTs, startService, temporaryDir, type RunningService } from './support/service.ts'
import { sqlClient, upload } from './support/http.ts'
import { countStoredSamples } from '../src/db/stored-samples.ts'

const dataDir = temporaryDir()
const devices = (...args: string[]) => runToExit(spawnTs('src/cli/devices.ts', args, { DATA_DIR: dataDir }))
let service: RunningService

beforeAll(async () => {
  // A short lookup cache: revocations take effect within it.
  service = await startService({ dataDir, env: { AUTH_CACHE_TTL: '1s' } })
})
afterAll(async () => {
  await service?.stop()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

describe('devices tool, while the service runs on the same DATA_DIR', () => {
  let phoneToken = ''

  it('add prints a new token once; uploads with it are stored as that device', async () => {
    const added = await devices('add', 'phone-1')
    expect(added.code).toBe(0)
    phoneToken = added.stdout.trim().split('\n').at(-1)!
    expect(phoneToken).toMatch(/^[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/)
    const answer = await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: phoneToken })
    expect(answer.body.accepted).toBe(6)
    const sql = await sqlClient(service.databaseUrl)
    const owners = await sql.query("select distinct d.name from location_samples s join devices d on d.id = s.device_id where s.sample_id = 9007199254740993")
    await sql.end()
    expect(owners.rows).toEqual([{ name: 'phone-1' }])
  })

  it('add refuses a name that exists', async () => {
    const again = await devices('add', 'phone-1')
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/exists already/)
  })

  it('list shows every device and its state', async () => {
    const listed = await devices('list')
    expect(listed.code).toBe(0)
    expect(listed.stdout).toMatch(/\tlocal\tactive/)
    expect(listed.stdout).toMatch(/\tphone-1\tactive/)
    expect(listed.stdout).not.toContain(phoneToken.split('.')[1])
  })

  it('revoke stops the token once its cached lookup expires (AUTH_CACHE_TTL)', async () => {
    expect((await devices('revoke', 'phone-1')).code).toBe(0)
    expect((await devices('list')).stdout).toMatch(/\tphone-1\trevoked /)
    let status = 200
    while (status === 200) status = (await upload(service.baseUrl, fixture('delimited.bin'), { contentType: 'application/octet-stream', token: phoneToken })).status
    expect(status).toBe(401)
  })

  it('a revoked name cannot be added again, but restore brings the device back with a new token and its samples', async () => {
    const again = await devices('add', 'phone-1')
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('exists and is revoked: `npm run devices -- restore phone-1`')
    const restored = await devices('restore', 'phone-1')
    expect(restored.code).toBe(0)
    const newToken = restored.stdout.trim().split('\n').at(-1)!
    expect(newToken).toMatch(/^[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/)
    expect((await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: newToken })).body.duplicates).toBe(6) // same device: its rows
    expect((await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: phoneToken })).status).toBe(401)
    phoneToken = newToken
  })

  it('rotate gives a new token; the old one stops (within AUTH_CACHE_TTL)', async () => {
    const rotated = await devices('rotate', 'phone-1')
    expect(rotated.code).toBe(0)
    const newToken = rotated.stdout.trim().split('\n').at(-1)!
    expect((await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: newToken })).status).toBe(200)
    let status = 200
    while (status === 200) status = (await upload(service.baseUrl, fixture('collection.bin'), { contentType: 'application/x-protobuf', token: phoneToken })).status
    expect(status).toBe(401)
    expect((await devices('rotate', 'no-such-device')).stderr).toContain('no active device named "no-such-device"')
  })

  it('names are limited to a safe character set; list --json gives every device', async () => {
    for (const name of ['bad\x1b[31mname', 'two words', 'a'.repeat(65), '.starts-with-dot', 'line\nforged\tactive']) {
      const refused = await devices('add', name)
      expect(refused.code, name).toBe(1)
      expect(refused.stderr).toContain('is not a device name: use 1 to 64 letters, digits')
    }
    const listed = await devices('list', '--json')
    expect(listed.code).toBe(0)
    const all = JSON.parse(listed.stdout) as { name: string; state: string }[]
    expect(all.map(({ name, state }) => ({ name, state }))).toEqual([
      { name: 'local', state: 'active' },
      { name: 'phone-1', state: 'active' },
    ])
  })

  it('wrong usage says how to use it; --help is not wrong usage', async () => {
    const wrong = await devices('remove', 'phone-1')
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toMatch(/usage: npm run devices -- add NAME \| list \[--json\] \| revoke NAME \| rotate NAME \| restore NAME/)
    const help = await devices('--help')
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('usage: npm run devices')
  })

  it.each(['src/cli/migrate.ts', 'src/cli/db.ts', 'src/cli/send.ts', 'src/cli/simulate.ts', 'src/cli/grafana.ts', 'tools/cli/bench.ts', 'tools/cli/bench-queries.ts', 'tools/cli/bench-tracing.ts', 'tools/cli/load.ts', 'src/cli/devices.ts'])(
    '%s --help prints its usage and exits 0 without doing anything',
    async (entry) => {
      const empty = temporaryDir('help-')
      const help = await runToExit(spawnTs(entry, ['--help'], { DATA_DIR: empty }))
      expect(help.code, help.stderr).toBe(0)
      expect(help.stdout).toMatch(/usage/i)
      expect(fs.readdirSync(empty)).toEqual([])
      fs.rmSync(empty, { recursive: true })
    },
  )
})

describe('bad usage', () => {
  // Every tool answers a wrong command line alike (src/cli/usage.ts): exit 2, what is wrong and
  // the usage text on stderr, nothing done.
  it.each([
    ['src/cli/migrate.ts', ['--force']],
    ['src/cli/db.ts', ['--port', '5433']],
    ['src/cli/send.ts', ['--batch', 'many', 'samples.jsonl']],
    ['src/cli/simulate.ts', ['--days', '2']],
    ['src/cli/grafana.ts', ['--prometheus', 'not a url']],
    ['src/cli/devices.ts', ['add']],
    ['tools/cli/bench.ts', ['--runs', '0']],
    ['tools/cli/bench-queries.ts', ['--quick']],
    ['tools/cli/bench-tracing.ts', ['--ratio', '2']],
    ['tools/cli/load.ts', ['--duration', '1']],
  ])('%s %j exits 2 with its usage text', async (entry, args) => {
    const empty = temporaryDir('usage-')
    const wrong = await runToExit(spawnTs(entry, args, { DATA_DIR: empty }))
    expect(wrong.code, wrong.stderr).toBe(2)
    expect(wrong.stderr).toMatch(/usage/i)
    expect(wrong.stdout).toBe('')
    expect(fs.readdirSync(empty)).toEqual([])
    fs.rmSync(empty, { recursive: true })
  })
})

describe('restart', () => {
  it('SIGTERM stops cleanly; a restart on the same DATA_DIR finds the rows, the devices and the token', async () => {
    const sql = await sqlClient(service.databaseUrl)
    const rowsBefore = await countStoredSamples(sql)
    await sql.end()
    expect(rowsBefore).toBeGreaterThan(0)
    expect(await service.stop('SIGTERM')).toBe(0)
    expect(service.output()).toContain('"msg":"stopped"')

    // A short lookup cache: revocations take effect within it.
  service = await startService({ dataDir, env: { AUTH_CACHE_TTL: '1s' } })
    expect(service.output()).not.toContain('created device')
    const again = await sqlClient(service.databaseUrl)
    expect(await countStoredSamples(again)).toBe(rowsBefore)
    const answer = await upload(service.baseUrl, fixture('samples.jsonl'), { contentType: 'application/x-ndjson', token: service.token })
    expect(answer.status).toBe(200)
    expect(await countStoredSamples(again)).toBe(rowsBefore + answer.body.accepted)
    await again.end()
  })

  it('a second service on the same DATA_DIR is refused with a clear message', async () => {
    const second = await runToExit(spawnTs('src/main.ts', [], { DATA_DIR: dataDir, PORT: '0', EMBEDDED_PG_PORT: '0', METRICS_PORT: '0' }))
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(/DATA_DIR is in use by process \d+/)
  })
})

describe('devices tool without a running service', () => {
  it('opens the embedded database itself', async () => {
    const alone = temporaryDir()
    const added = await runToExit(spawnTs('src/cli/devices.ts', ['add', 'offline'], { DATA_DIR: alone }))
    expect(added.code).toBe(0)
    const listed = await runToExit(spawnTs('src/cli/devices.ts', ['list'], { DATA_DIR: alone }))
    expect(listed.stdout).toMatch(/\toffline\tactive/)
    fs.rmSync(alone, { recursive: true, force: true })
  })
})
