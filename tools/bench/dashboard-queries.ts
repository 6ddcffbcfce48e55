// The query benchmark: every SQL query of the samples dashboard and of the device-silent
// alert, as Grafana would send them (tools/bench/grafana-macros.ts expands variables and
// macros the way Grafana does), on a simulated month of several devices loaded through the
// service's own writer (so the upload bookkeeping and the backfill job run as in service).
import fs from 'node:fs'
import { parse } from 'yaml'
import { decodeJsonLines } from '../../src/codec/json.ts'
import { addDevice } from '../../src/db/devices.ts'
import type { Pool } from '../../src/db/pool.ts'
import { writeSamples } from '../../src/db/sample-writer.ts'
import { formatSampleLine, generateSamples } from '../../src/sim/index.ts'
import { expandSql, type QueryContext } from './grafana-macros.ts'
import { percentile } from './upload-load.ts'

export interface NamedQuery {
  name: string
  sql: string
}

interface Panel {
  title: string
  targets?: { rawSql?: string; datasource?: { uid: string } }[]
  datasource?: { uid: string }
}

/** The dashboard's SQL panel queries and the alert's query, by name. */
export function dashboardQueries(dashboardPath = 'grafana/dashboards/samples.json', alertPath = 'grafana/provisioning/alerting/device-silent.yml'): NamedQuery[] {
  const dashboard = JSON.parse(fs.readFileSync(dashboardPath, 'utf8')) as { panels: Panel[] }
  const queries: NamedQuery[] = []
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      if (target.rawSql && (target.datasource ?? panel.datasource)?.uid === 'timescaledb') queries.push({ name: `panel: ${panel.title}`, sql: target.rawSql })
    }
  }
  const alerting = parse(fs.readFileSync(alertPath, 'utf8')) as { groups: { rules: { title: string; data: { model: { rawSql?: string } }[] }[] }[] }
  for (const rule of alerting.groups.flatMap((group) => group.rules)) {
    for (const step of rule.data) if (step.model.rawSql) queries.push({ name: `alert: ${rule.title}`, sql: step.model.rawSql })
  }
  return queries
}

export interface LoadOptions {
  devices: number
  days: number
  accelerationHoursPerDay: number
  /** The simulated month ends today (UTC date). */
  endDate: Date
}

/** Adds `devices` devices and writes each one's simulated samples through the writer; returns the device ids. */
export async function loadSimulatedDevices(pool: Pool, options: LoadOptions, onProgress?: (text: string) => void): Promise<number[]> {
  const startDate = new Date(options.endDate.getTime() - options.days * 86_400_000).toISOString().slice(0, 10)
  const ids: number[] = []
  for (let index = 0; index < options.devices; index++) {
    const { device } = await addDevice(pool, `bench-phone-${index + 1}`)
    ids.push(device.id)
    let lines: string[] = []
    let written = 0
    const flush = async () => {
      if (lines.length === 0) return
      await writeSamples(pool, device.id, decodeJsonLines(Buffer.from(lines.join('\n') + '\n')))
      written += lines.length
      lines = []
    }
    for (const sample of generateSamples({ days: options.days, seed: index + 1, startDate, accelerationHoursPerDay: options.accelerationHoursPerDay })) {
      lines.push(formatSampleLine(sample))
      if (lines.length === 5_000) await flush()
    }
    await flush()
    onProgress?.(`device ${index + 1}/${options.devices}: ${written.toLocaleString('en-US')} samples`)
  }
  return ids
}

/** Runs every scheduled TimescaleDB job once, as the scheduler (or the embedded job runner) would by now. */
export async function runAllJobs(pool: Pool): Promise<void> {
  const jobs = await pool.query<{ job_id: number }>('select job_id from timescaledb_information.jobs where scheduled order by job_id')
  for (const { job_id } of jobs.rows) await pool.query('call run_job($1)', [job_id])
}

export interface QueryTiming {
  name: string
  range: string
  rows: number
  p50Ms: number
  p95Ms: number
}

export interface DashboardRange {
  name: string
  rangeMs: number
  /** What Grafana picks for $__interval on a panel about 1400 px wide. */
  intervalMs: number
}

export const DASHBOARD_RANGES: DashboardRange[] = [
  { name: '24 h', rangeMs: 86_400_000, intervalMs: 60_000 },
  { name: '7 d', rangeMs: 7 * 86_400_000, intervalMs: 600_000 },
  { name: '30 d', rangeMs: 30 * 86_400_000, intervalMs: 1_800_000 },
]

/** Runs each query `runs` times (after one warm-up) per range; p50 and p95 of the wall time. */
export async function timeQueries(pool: Pool, queries: NamedQuery[], deviceIds: number[], now: Date, runs: number): Promise<QueryTiming[]> {
  const timings: QueryTiming[] = []
  for (const query of queries) {
    for (const range of DASHBOARD_RANGES) {
      const context: QueryContext = {
        range: { from: new Date(now.getTime() - range.rangeMs), to: now },
        intervalMs: range.intervalMs,
        variables: { device: { values: deviceIds.map(String), multi: true } },
      }
      const sql = expandSql(query.sql, context)
      let rows = (await pool.query(sql)).rowCount ?? 0
      const times: number[] = []
      for (let run = 0; run < runs; run++) {
        const started = performance.now()
        rows = (await pool.query(sql)).rowCount ?? 0
        times.push(performance.now() - started)
      }
      times.sort((a, b) => a - b)
      timings.push({ name: query.name, range: range.name, rows, p50Ms: percentile(times, 0.5), p95Ms: percentile(times, 0.95) })
    }
  }
  return timings
}

/** A Markdown table: one row per query and range. */
export function formatTimings(timings: QueryTiming[], limitMs: number): string {
  const lines = ['| query | range | rows | p50 ms | p95 ms | under ' + limitMs + ' ms |', '| --- | --- | ---: | ---: | ---: | --- |']
  for (const t of timings) lines.push(`| ${t.name} | ${t.range} | ${t.rows} | ${t.p50Ms.toFixed(1)} | ${t.p95Ms.toFixed(1)} | ${t.p95Ms < limitMs ? 'yes' : '**no**'} |`)
  return lines.join('\n')
}
