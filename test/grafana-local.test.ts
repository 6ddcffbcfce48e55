// `npm run grafana`: what it writes for a Grafana on this machine, next to `npm start`. No
// Grafana can be installed here, so the test checks what Grafana would read: every ${...}
// filled in, the TimescaleDB datasource at the running service's SQL port as a login that is a
// member of telemetry_reader only and can read the samples, the dashboards' directory, and a
// prometheus.yml that promtool accepts.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { sqlClient, upload } from './support/http.ts'
import { PROJECT_DIR, runToExit, spawnTs, startService, type RunningService } from './support/service.ts'

let service: RunningService

beforeAll(async () => {
  service = await startService()
}, 120_000)

afterAll(async () => {
  await service?.stop()
  fs.rmSync(service?.dataDir ?? '', { recursive: true, force: true })
})

async function runGrafanaCommand(): Promise<string> {
  const metricsPort = new URL(service.metricsUrl).port
  const result = await runToExit(spawnTs('src/cli/grafana.ts', ['--prometheus', 'http://127.0.0.1:9090'], { DATA_DIR: service.dataDir, METRICS_PORT: metricsPort }))
  expect(result.code, result.stderr).toBe(0)
  return result.stdout
}

interface Datasource {
  uid: string
  url: string
  user?: string
  jsonData?: { database?: string }
  secureJsonData?: { password?: string }
}

describe('npm run grafana', () => {
  it('provisions the datasources at the running service, as a read-only login that can read the samples', async () => {
    const printed = await runGrafanaCommand()
    const outDir = path.join(service.dataDir, 'grafana')
    expect(printed).toContain(`GF_PATHS_PROVISIONING=${path.join(outDir, 'provisioning')}`)

    const file = path.join(outDir, 'provisioning', 'datasources', 'datasources.yml')
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    const { datasources } = parse(fs.readFileSync(file, 'utf8')) as { datasources: Datasource[] }
    const timescale = datasources.find((source) => source.uid === 'timescaledb')!
    const serviceDatabase = new URL(service.databaseUrl)
    expect(timescale.url).toBe(`127.0.0.1:${serviceDatabase.port}`)
    expect(timescale.user).toBe('grafana_reader')
    expect(datasources.find((source) => source.uid === 'prometheus')!.url).toBe('http://127.0.0.1:9090')

    // The login Grafana would use: it connects and reads, as Grafana's queries do.
    const reader = new pg.Client({
      host: '127.0.0.1',
      port: Number(serviceDatabase.port),
      database: timescale.jsonData!.database,
      user: timescale.user,
      password: timescale.secureJsonData!.password,
    })
    await reader.connect()
    try {
      expect((await reader.query('select count(*)::int as n from location_samples')).rows[0].n).toBeGreaterThanOrEqual(0)
    } finally {
      await reader.end()
    }
    // And what it is allowed: reading only.
    const owner = await sqlClient(service.databaseUrl)
    try {
      const { rows } = await owner.query(
        "select rolcanlogin, rolsuper, pg_has_role('grafana_reader', 'telemetry_reader', 'member') as reader, pg_has_role('grafana_reader', 'telemetry_service', 'member') as ingest from pg_roles where rolname = 'grafana_reader'",
      )
      expect(rows).toEqual([{ rolcanlogin: true, rolsuper: false, reader: true, ingest: false }])
    } finally {
      await owner.end()
    }
  })

  it('fills in every ${...} and points the dashboards provider at grafana/dashboards', async () => {
    const provisioning = path.join(service.dataDir, 'grafana', 'provisioning')
    const files = fs.readdirSync(provisioning, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile())
    expect(files.map((entry) => path.relative(provisioning, path.join(entry.parentPath, entry.name))).sort()).toEqual(
      fs.readdirSync(path.join(PROJECT_DIR, 'grafana', 'provisioning'), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(path.join(PROJECT_DIR, 'grafana', 'provisioning'), path.join(entry.parentPath, entry.name)))
        .sort(),
    )
    for (const entry of files) expect(fs.readFileSync(path.join(entry.parentPath, entry.name), 'utf8'), entry.name).not.toMatch(/\$\{\w+\}/)
    const { providers } = parse(fs.readFileSync(path.join(provisioning, 'dashboards', 'dashboards.yml'), 'utf8'))
    expect(fs.readdirSync(providers[0].options.path).filter((name: string) => name.endsWith('.json')).sort()).toEqual(['samples.json', 'service-health.json'])
  })

  it('prints the samples dashboard opened where the stored samples are', async () => {
    expect(await runGrafanaCommand()).toContain('no samples stored yet: send some (npm run send -- examples/*.jsonl), then open http://localhost:3000/d/telemetry-samples\n')
    const lines = ['2024-03-07T08:00:00.000Z', '2024-03-09T18:30:00.000Z'].map((time, index) =>
      JSON.stringify({ id: String(index + 1), data: { '@type': 'type.googleapis.com/Location', latitude: 52.52 + index / 1000, longitude: 13.405 }, timestamp: time }),
    )
    const answer = await upload(service.baseUrl, lines.join('\n'), { contentType: 'application/x-ndjson', token: service.token })
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    const from = Date.parse('2024-03-07T08:00:00.000Z') - 60_000
    const to = Date.parse('2024-03-09T18:30:00.000Z') + 60_000
    expect(await runGrafanaCommand()).toContain(
      `the samples stored span 2024-03-07T08:00:00.000Z to 2024-03-09T18:30:00.000Z: http://localhost:3000/d/telemetry-samples?from=${from}&to=${to}\n`,
    )
  })

  it('gives the login a new password on every run, and writes a prometheus.yml promtool accepts', async () => {
    const datasourceFile = path.join(service.dataDir, 'grafana', 'provisioning', 'datasources', 'datasources.yml')
    const before = fs.readFileSync(datasourceFile, 'utf8')
    await runGrafanaCommand()
    expect(fs.readFileSync(datasourceFile, 'utf8')).not.toBe(before)

    const config = path.join(service.dataDir, 'grafana', 'prometheus.yml')
    const { stdout } = await promisify(execFile)('promtool', ['check', 'config', config])
    expect(stdout).toContain('SUCCESS: 1 rule files found')
    const scrape = parse(fs.readFileSync(config, 'utf8')).scrape_configs[0]
    expect(scrape).toEqual({ job_name: 'telemetry-store', static_configs: [{ targets: [new URL(service.metricsUrl).host] }] })
  })
})
