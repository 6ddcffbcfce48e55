// Observability end to end: the real service's /metrics after real uploads, a real Prometheus
// scraping it with the repository's rules, every PromQL query and variable of the dashboards against that
// Prometheus, and an alert that fires for real (the database goes away, uploads fail) and
// reaches a webhook through a real Alertmanager.
import { execFile } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readdir, readFile } from 'node:fs/promises'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addDevice } from '../src/db/devices.ts'
import { expandPromQL, type TemplateValue } from '../tools/bench/grafana-macros.ts'
import { startAlertmanager, startPrometheus, TEST_RUNBOOK_BASE_URL, type RunningPrometheus, type RunningTool } from './support/prometheus.ts'
import { startService, type RunningService } from './support/service.ts'
import { sqlClient, upload } from './support/http.ts'

interface Notification {
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[]
}

let database: RunningService // owns the embedded TimescaleDB; stopped to make uploads fail
let service: RunningService // the service under observation, with DATABASE_URL -> database
let sql: pg.Client
let token: string
let receiver: Server
const notifications: Notification[] = []
let alertmanager: RunningTool
let prometheus: RunningPrometheus

beforeAll(async () => {
  database = await startService()
  service = await startService({ env: { DATABASE_URL: database.databaseUrl } })
  sql = await sqlClient(database.databaseUrl)
  token = (await addDevice(sql, 'observed-phone')).token
  receiver = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => {
      notifications.push(JSON.parse(body) as Notification)
      response.end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  alertmanager = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts` })
  prometheus = await startPrometheus({ target: new URL(service.metricsUrl).host, ruleFor: '2s', alertmanagerUrl: alertmanager.url })
})

afterAll(async () => {
  await prometheus?.stop()
  await alertmanager?.stop()
  await new Promise((resolve) => receiver?.close(resolve))
  await sql?.end().catch(() => undefined)
  await service?.stop()
  await database?.stop()
})

/** The value of one series on the service's /metrics, 0 when absent. */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(service.metricsUrl)).text()
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`)
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (wanted.every((pair) => line.includes(pair))) total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return total
}

function locationLines(count: number, firstId: number): string {
  const start = Date.UTC(2026, 0, 1)
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      id: String(firstId + i),
      data: { '@type': 'type.googleapis.com/Location', latitude: 52.5 + i * 1e-4, longitude: 13.4 },
      timestamp: new Date(start + i * 60_000).toISOString(),
    }),
  ).join('\n')
}

const BAD_SAMPLE = '{"id":"1","data":{"@type":"type.googleapis.com/Location","latitude":123},"timestamp":"2026-01-01T00:00:00Z"}'

describe('the service’s /metrics after real uploads', () => {
  it('passes promtool check metrics: names, units and types as Prometheus expects them', async () => {
    // After an upload and a refusal, so that histograms and labelled counters are all there.
    await upload(service.baseUrl, locationLines(3, 90_000), { contentType: 'application/x-ndjson', token })
    await upload(service.baseUrl, BAD_SAMPLE, { contentType: 'application/x-ndjson', token })
    const exposition = await (await fetch(service.metricsUrl)).text()
    const promtool = execFile('promtool', ['check', 'metrics'])
    const checked = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      let output = ''
      promtool.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
      promtool.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
      promtool.once('error', reject)
      promtool.once('exit', (code) => resolve({ code, output }))
    })
    promtool.stdin!.end(exposition)
    expect(await checked).toEqual({ code: 0, output: '' })
    // Units in the names, as the OpenTelemetry-to-Prometheus rules write them.
    for (const family of ['http_server_request_duration_seconds', 'db_client_operation_duration_seconds', 'telemetry_upload_size_bytes', 'process_memory_usage_bytes', 'nodejs_eventloop_delay_p99_seconds']) {
      expect(exposition, family).toMatch(new RegExp(`^# TYPE ${family} `, 'm'))
    }
  })

  it('counts TimescaleDB jobs from the server’s job_stats when the service does not run them', async () => {
    // `service` talks to its database through DATABASE_URL, as to a server: the numbers are
    // the database's own (0 here: the embedded engine keeps no run statistics).
    expect(await metric('timescaledb_job_runs_total', { proc_name: 'policy_compression', hypertable: 'public.location_samples' })).toBe(0)
    const text = await (await fetch(service.metricsUrl)).text()
    expect(text).toMatch(/^timescaledb_job_failures_total\{proc_name="policy_compression",hypertable="public.location_samples"\} 0$/m)
  })

  it('1,000 accepted locations move the location counters by exactly 1,000; a retry moves duplicates', async () => {
    const stored = await metric('telemetry_samples_stored_total', { kind: 'location' })
    const received = await metric('telemetry_samples_received_total', { kind: 'location' })
    const duplicates = await metric('telemetry_samples_duplicate_total', { kind: 'location' })
    const requests = await metric('http_server_request_duration_seconds_count', { http_route: '/v1/samples', http_response_status_code: '200' })

    const body = locationLines(1000, 1)
    expect((await upload(service.baseUrl, body, { contentType: 'application/x-ndjson', token })).body).toMatchObject({ accepted: 1000 })
    expect(await metric('telemetry_samples_stored_total', { kind: 'location' })).toBe(stored + 1000)
    expect(await metric('telemetry_samples_received_total', { kind: 'location' })).toBe(received + 1000)

    expect((await upload(service.baseUrl, body, { contentType: 'application/x-ndjson', token })).body).toMatchObject({ duplicates: 1000 })
    expect(await metric('telemetry_samples_stored_total', { kind: 'location' })).toBe(stored + 1000)
    expect(await metric('telemetry_samples_duplicate_total', { kind: 'location' })).toBe(duplicates + 1000)
    expect(await metric('http_server_request_duration_seconds_count', { http_route: '/v1/samples', http_response_status_code: '200' })).toBe(requests + 2)
  })

  it('a refused upload is counted by the code the client got', async () => {
    const before = await metric('telemetry_uploads_rejected_total', { reason: 'invalid_sample' })
    expect((await upload(service.baseUrl, BAD_SAMPLE, { contentType: 'application/x-ndjson', token })).status).toBe(400)
    expect(await metric('telemetry_uploads_rejected_total', { reason: 'invalid_sample' })).toBe(before + 1)
  })
})

describe('Prometheus and the dashboards', () => {
  it('Prometheus scrapes the service and holds the same counter values', async () => {
    const onMetrics = await metric('telemetry_samples_stored_total', { kind: 'location' })
    await expect
      .poll(async () => (await prometheus.query('sum(telemetry_samples_stored_total{job="telemetry-store", kind="location"})'))[0]?.value[1], { timeout: 30_000 })
      .toBe(String(onMetrics))
  })

  it('every Prometheus template variable lists the scraped replica', async () => {
    // label_values(selector, label), as Grafana's Prometheus datasource runs it: the label's
    // values among the series the selector matches.
    const variables = await promqlVariableQueries()
    expect(variables.map((variable) => variable.name)).toEqual(['instance'])
    for (const { name, query } of variables) {
      const parsed = /^label_values\((.+),\s*(\w+)\)$/.exec(query)
      expect(parsed, `${name}: ${query}`).not.toBeNull()
      const url = new URL(`${prometheus.url}/api/v1/label/${parsed![2]}/values`)
      url.searchParams.set('match[]', parsed![1]!)
      const answer = (await (await fetch(url)).json()) as { status: string; data: string[] }
      expect(answer, name).toMatchObject({ status: 'success' })
      expect(answer.data, name).toEqual([new URL(service.metricsUrl).host])
    }
  })

  it('every PromQL query of every dashboard parses and returns data', async () => {
    // Traffic during the queries, so that every rate has two points in its window:
    // accepted uploads, duplicates and a refused one, every 200 ms.
    let running = true
    const traffic = (async () => {
      for (let round = 0; running; round++) {
        await upload(service.baseUrl, locationLines(20, 10_000 + round * 20), { contentType: 'application/x-ndjson', token })
        await upload(service.baseUrl, BAD_SAMPLE, { contentType: 'application/x-ndjson', token })
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    })()
    try {
      await new Promise((resolve) => setTimeout(resolve, 5000))
      const failures: string[] = []
      const variables = await promqlVariables()
      for (const { dashboard, title, expr } of await promqlTargets()) {
        // "Firing alerts" has data only while an alert fires: checked in the alert test.
        if (expr.includes('ALERTS')) continue
        const now = new Date()
        const query = expandPromQL(expr, { range: { from: new Date(now.getTime() - 300_000), to: now }, intervalMs: 15_000, scrapeIntervalMs: 1000, variables })
        const result = await prometheus.query(query) // throws when it does not parse
        if (result.length === 0) failures.push(`${dashboard} / ${title}: ${query}`)
      }
      expect(failures).toEqual([])
    } finally {
      running = false
      await traffic
    }
  })
})

describe('an alert, for real', () => {
  it('the database goes away, uploads fail, HighErrorRatio reaches the webhook and the dashboard', async () => {
    expect(await database.stop()).toBe(0)
    const deadline = Date.now() + 90_000
    const fired = () => notifications.flatMap((n) => n.alerts).find((a) => a.labels.alertname === 'HighErrorRatio' && a.status === 'firing')
    while (!fired() && Date.now() < deadline) {
      const answer = await upload(service.baseUrl, locationLines(5, 50_000), { contentType: 'application/x-ndjson', token })
      expect(answer.status).toBe(503)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const alert = fired()
    expect(alert, `${prometheus.output()}\n${alertmanager.output()}`).toBeDefined()
    expect(alert!.labels).toMatchObject({ job: 'telemetry-store', severity: 'critical' })
    expect(alert!.annotations.runbook_url).toBe(`${TEST_RUNBOOK_BASE_URL}#runbook-higherrorratio`)

    const firing = (await promqlTargets()).find(({ expr }) => expr.includes('ALERTS'))!
    const rows = await prometheus.query(firing.expr)
    expect(rows.map((row) => row.metric.alertname)).toContain('HighErrorRatio')
  })
})

/**
 * The Prometheus template variables of the dashboards at their default, "All": the variable's
 * allValue (`.*`), as Grafana substitutes it.
 */
async function promqlVariables(): Promise<Record<string, TemplateValue>> {
  type Variable = { name: string; datasource?: { uid?: string }; includeAll?: boolean; allValue?: string }
  const values: Record<string, TemplateValue> = {}
  for (const file of (await readdir('grafana/dashboards')).filter((name) => name.endsWith('.json'))) {
    const dashboard = JSON.parse(await readFile(`grafana/dashboards/${file}`, 'utf8')) as { templating: { list: Variable[] } }
    for (const variable of dashboard.templating.list) {
      if (variable.datasource?.uid !== 'prometheus') continue
      expect(variable.includeAll && variable.allValue, variable.name).toBeTruthy()
      values[variable.name] = { values: [variable.allValue!], multi: true }
    }
  }
  return values
}

/** The query of each Prometheus template variable (a string, or the editor's { query }). */
async function promqlVariableQueries(): Promise<{ name: string; query: string }[]> {
  type Variable = { name: string; type: string; datasource?: { uid?: string }; query: string | { query: string } }
  const queries: { name: string; query: string }[] = []
  for (const file of (await readdir('grafana/dashboards')).filter((name) => name.endsWith('.json'))) {
    const dashboard = JSON.parse(await readFile(`grafana/dashboards/${file}`, 'utf8')) as { templating: { list: Variable[] } }
    for (const variable of dashboard.templating.list) {
      if (variable.type !== 'query' || variable.datasource?.uid !== 'prometheus') continue
      queries.push({ name: variable.name, query: typeof variable.query === 'string' ? variable.query : variable.query.query })
    }
  }
  return queries
}

async function promqlTargets(): Promise<{ dashboard: string; title: string; expr: string }[]> {
  type Panel = { title?: string; targets?: { expr?: string; datasource?: { uid?: string } }[]; panels?: Panel[]; datasource?: { uid?: string } }
  const targets: { dashboard: string; title: string; expr: string }[] = []
  const walk = (dashboard: string, panels: Panel[]): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if ((target.datasource ?? panel.datasource)?.uid === 'prometheus' && target.expr) targets.push({ dashboard, title: panel.title ?? '', expr: target.expr })
      }
      walk(dashboard, panel.panels ?? [])
    }
  }
  for (const file of (await readdir('grafana/dashboards')).filter((name) => name.endsWith('.json'))) {
    const dashboard = JSON.parse(await readFile(`grafana/dashboards/${file}`, 'utf8')) as { title: string; panels: Panel[] }
    walk(dashboard.title, dashboard.panels)
  }
  expect(targets.length).toBeGreaterThan(10)
  return targets
}
