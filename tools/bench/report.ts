// One bench run's figures -> the medians, the ratios, a printed table and the JSON file.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** Figures of one run, by name; every name ends in its unit. */
export type RunFigures = Record<string, number>

export interface BenchReport {
  startedAt: string
  command: string
  machine: { nproc: number; memoryBytes: number; cpu: string; node: string; platform: string }
  settings: Record<string, unknown>
  runs: RunFigures[]
  median: RunFigures
  /** Each figure over its base, taken within each run (the same machine state), median of the runs. */
  ratios: Record<RatioName, number>
  /** Extra findings (profile, plain table vs hypertable), as measured. */
  notes: Record<string, unknown>
}

/** The ratios the bench is judged by: the service against the database's true limit, small uploads against large. */
const RATIOS = {
  serviceToLimit: { label: 'service / limit', figure: 'service_samples_per_s', base: 'limit_rows_per_s' },
  writerToLimit: { label: 'writer / limit', figure: 'writer_samples_per_s', base: 'limit_rows_per_s' },
  smallUploadsToLimit: { label: 'small uploads / limit', figure: 'small_uploads_samples_per_s', base: 'limit_rows_per_s' },
  smallUploadsToService: { label: 'small uploads / large uploads', figure: 'small_uploads_samples_per_s', base: 'service_samples_per_s' },
  sendClientToLimit: { label: 'send client / limit', figure: 'send_client_samples_per_s', base: 'limit_rows_per_s' },
} as const
type RatioName = keyof typeof RATIOS

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export function buildReport(options: { startedAt: Date; command: string; settings: Record<string, unknown>; runs: RunFigures[]; notes: Record<string, unknown> }): BenchReport {
  const names = Object.keys(options.runs[0] ?? {})
  const medianFigures = Object.fromEntries(names.map((name) => [name, median(options.runs.map((run) => run[name] ?? Number.NaN))]))
  return {
    startedAt: options.startedAt.toISOString(),
    command: options.command,
    machine: { nproc: os.availableParallelism(), memoryBytes: os.totalmem(), cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` },
    settings: options.settings,
    runs: options.runs,
    median: medianFigures,
    ratios: Object.fromEntries(Object.entries(RATIOS).map(([name, { figure, base }]) => [name, median(options.runs.map((run) => runRatio(run, figure, base)))])) as Record<RatioName, number>,
    notes: options.notes,
  }
}

/** bench/results/<timestamp>.json; returns the path. */
export function writeReport(report: BenchReport, directory: string): string {
  fs.mkdirSync(directory, { recursive: true })
  const file = path.join(directory, `${report.startedAt.replace(/[:.]/g, '-')}.json`)
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  return file
}

export function formatReport(report: BenchReport): string {
  const rows = Object.entries(report.median).map(([name, value]) => [name, formatNumber(value), report.runs.map((run) => formatNumber(run[name] ?? Number.NaN)).join('  ')])
  const percent = (value: number) => `${(value * 100).toFixed(0)} %`
  for (const [name, { label, figure, base }] of Object.entries(RATIOS)) {
    rows.push([label, percent(report.ratios[name as RatioName]), report.runs.map((run) => percent(runRatio(run, figure, base))).join('  ')])
  }
  const header = ['figure', `median of ${report.runs.length}`, 'runs']
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)))
  const line = (cells: string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`
  return [line(header), `|${widths.map((width, column) => '-'.repeat(width + 1) + (column === 0 ? '-' : ':')).join('|')}|`, ...rows.map(line)].join('\n')
}

function runRatio(run: RunFigures, figure: string, base: string): number {
  return (run[figure] ?? Number.NaN) / (run[base] ?? Number.NaN)
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2)
}
