// npm run grafana [-- --prometheus <url>] [-- --alertmanager <url>] [-- --tempo <url>]
//
// Lets a Grafana installed on this machine open the dashboards of the running service (the
// embedded default of `npm start` included), without Docker. It writes, under DATA_DIR/grafana:
//   provisioning/   the repository's grafana/provisioning with its ${...} values filled in:
//                   the TimescaleDB datasource at this database's SQL port, logged in as
//                   grafana_reader (a member of the read-only telemetry_reader; created or
//                   given a new password here), the dashboards read from grafana/dashboards;
//   prometheus.yml  a Prometheus that scrapes this service's /metrics with the repository's rules;
// and prints the commands that start both, and the samples dashboard's address opened on the
// time the stored samples span (the dashboard's default, the last 24 hours, may hold none of
// them: the examples are from March 2024). The password is only in the datasource file (0600).
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Config } from '../config.ts'
import type { Database } from '../db/database.ts'
import { storedTimeSpan } from '../db/stored-samples.ts'
import { runWithDatabase } from './run-with-database.ts'
import { parseToolArgs, runTool, UsageError } from './usage.ts'

// The repository's checkout (grafana/, prometheus/, docs/), from src/cli or dist/cli alike.
const PROJECT_DIR = fileURLToPath(new URL('../../', import.meta.url))
const READER_LOGIN = 'grafana_reader'
const PROVISIONING_DIR = path.join(PROJECT_DIR, 'grafana', 'provisioning')
const SAMPLES_DASHBOARD = path.join(PROJECT_DIR, 'grafana', 'dashboards', 'samples.json')
const GRAFANA_URL = 'http://localhost:3000'

const USAGE = `usage: npm run grafana [-- --prometheus URL] [--alertmanager URL] [--tempo URL]

writes DATA_DIR/grafana: Grafana provisioning for this service's database and a prometheus.yml
that scrapes it, then prints the commands that start both (see docs/operations.md)

  --prometheus URL     the Prometheus Grafana reads (default http://127.0.0.1:9090)
  --alertmanager URL   the Alertmanager (default http://127.0.0.1:9093)
  --tempo URL          where traces are, if a Tempo runs (default http://127.0.0.1:3200)`

await runTool('grafana', USAGE, async () => {
  const { values } = parseToolArgs({
    options: {
      prometheus: { type: 'string', default: 'http://127.0.0.1:9090' },
      alertmanager: { type: 'string', default: 'http://127.0.0.1:9093' },
      // Traces, where a Tempo runs (the datasource stays empty without one).
      tempo: { type: 'string', default: 'http://127.0.0.1:3200' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const { help, ...options } = values
  if (help) {
    console.log(USAGE)
    return 0
  }
  for (const [name, url] of Object.entries(options)) {
    if (!URL.canParse(url)) throw new UsageError(`--${name} ${url} is not a URL`)
  }
  return runWithDatabase('grafana', (database, config) => writeGrafanaFiles(database, config, options))
})

async function writeGrafanaFiles(database: Database, config: Config, options: { prometheus: string; alertmanager: string; tempo: string }): Promise<void> {
  const outDir = path.join(config.dataDir, 'grafana')
  const password = await readerLogin(database)
  const databaseUrl = new URL(database.url)
  writeProvisioning(path.join(outDir, 'provisioning'), {
    TIMESCALEDB_HOST: `${databaseUrl.hostname}:${databaseUrl.port || 5432}`,
    TIMESCALEDB_DATABASE: decodeURIComponent(databaseUrl.pathname.slice(1)) || 'postgres',
    GRAFANA_DB_USER: READER_LOGIN,
    GRAFANA_DB_PASSWORD: password,
    PROMETHEUS_URL: options.prometheus,
    ALERTMANAGER_URL: options.alertmanager,
    TEMPO_URL: options.tempo,
    GRAFANA_DASHBOARDS_DIR: path.join(PROJECT_DIR, 'grafana', 'dashboards'),
  })
  fs.writeFileSync(path.join(outDir, 'prometheus.yml'), prometheusConfig(config, new URL(options.alertmanager)))
  console.log(`wrote ${outDir}: Grafana provisioning (TimescaleDB as ${READER_LOGIN} at ${databaseUrl.host}, Prometheus ${options.prometheus}) and prometheus.yml
start them, each in a terminal of its own:
  prometheus --config.file=${path.join(outDir, 'prometheus.yml')} --storage.tsdb.path=${path.join(outDir, 'prometheus-data')} --enable-feature=expand-external-labels
  GF_PATHS_PROVISIONING=${path.join(outDir, 'provisioning')} GF_PATHS_DATA=${path.join(outDir, 'grafana-data')} grafana server --homepath /usr/share/grafana
then open ${GRAFANA_URL} (admin / admin on a new Grafana; it asks for a new password)
${await samplesDashboardLink(database)}`)
}

/** The samples dashboard's address, opened on the time the stored samples span. */
async function samplesDashboardLink({ pool }: Database): Promise<string> {
  const { uid } = JSON.parse(fs.readFileSync(SAMPLES_DASHBOARD, 'utf8')) as { uid: string }
  const dashboard = `${GRAFANA_URL}/d/${uid}`
  const span = await storedTimeSpan(pool)
  if (!span) return `no samples stored yet: send some (npm run send -- examples/*.jsonl), then open ${dashboard}`
  // A minute either side, so that a single sample's range is not empty.
  const from = span.first.getTime() - 60_000
  const to = span.last.getTime() + 60_000
  return `the samples stored span ${span.first.toISOString()} to ${span.last.toISOString()}: ${dashboard}?from=${from}&to=${to}`
}

/** Creates the read-only login when missing and gives it a new random password. */
async function readerLogin({ pool }: Database): Promise<string> {
  await pool.query(`do $$
begin
  if not exists (select from pg_roles where rolname = '${READER_LOGIN}') then
    create role ${READER_LOGIN} login in role telemetry_reader;
  end if;
end
$$`)
  const password = crypto.randomBytes(18).toString('base64url')
  // DDL takes no parameters: the server quotes the password as a literal.
  const { rows } = await pool.query<{ statement: string }>(`select format('alter role ${READER_LOGIN} login password %L', $1::text) as statement`, [password])
  await pool.query(rows[0]!.statement)
  return password
}

/** Copies grafana/provisioning, replacing each ${NAME} with its value; an unknown name is an error. */
function writeProvisioning(outDir: string, values: Record<string, string>): void {
  for (const entry of fs.readdirSync(PROVISIONING_DIR, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const source = path.join(entry.parentPath, entry.name)
    const text = fs.readFileSync(source, 'utf8').replace(/\$\{(\w+)\}/g, (_match, name: string) => {
      const value = values[name]
      if (value === undefined) throw new Error(`${source}: no value for \${${name}}`)
      return value
    })
    const target = path.join(outDir, path.relative(PROVISIONING_DIR, source))
    fs.mkdirSync(path.dirname(target), { recursive: true })
    // Rewritten each run: the datasource file holds a password.
    fs.rmSync(target, { force: true })
    fs.writeFileSync(target, text, { mode: 0o600 })
  }
}

/** JSON is YAML: a Prometheus for this machine, with the repository's rules and runbooks. */
function prometheusConfig(config: Pick<Config, 'metricsHost' | 'metricsPort'>, alertmanager: URL): string {
  const scrapeHost = config.metricsHost === '0.0.0.0' ? '127.0.0.1' : config.metricsHost
  return `${JSON.stringify(
    {
      global: {
        scrape_interval: '15s',
        evaluation_interval: '15s',
        external_labels: { runbook_base_url: `file://${path.join(PROJECT_DIR, 'docs', 'operations.md')}` },
      },
      alerting: { alertmanagers: [{ static_configs: [{ targets: [alertmanager.host] }] }] },
      rule_files: [path.join(PROJECT_DIR, 'prometheus', 'rules', '*.rules.yml')],
      // job="telemetry-store", as the rules and the dashboards select.
      scrape_configs: [{ job_name: 'telemetry-store', static_configs: [{ targets: [`${scrapeHost}:${config.metricsPort}`] }] }],
    },
    null,
    2,
  )}\n`
}
