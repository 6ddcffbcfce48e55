// The bench's quick mode, as CI runs it: it must run end to end and write every figure.
// It asserts no speed (CI machines differ); the figures are read by people, not by this test.
import fs from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import { runToExit, spawnTs, temporaryDir } from './support/service.ts'

it('npm run bench -- --quick prints the table and writes the JSON with every figure', async () => {
  const out = temporaryDir('telemetry-bench-results-')
  const { code, stdout, stderr } = await runToExit(spawnTs('tools/cli/bench.ts', ['--quick', '--out', out], {}))
  expect(code, stderr).toBe(0)

  const files = fs.readdirSync(out).filter((name) => name.endsWith('.json'))
  expect(files).toHaveLength(1)
  const report = JSON.parse(fs.readFileSync(path.join(out, files[0]!), 'utf8'))
  const figures = [
    'limit_copy_text_rows_per_s',
    'limit_copy_binary_rows_per_s',
    'limit_rows_per_s',
    'limit_copy_binary_slices_rows_per_s',
    'writer_samples_per_s',
    'writer_small_one_tx_each_samples_per_s',
    'writer_small_grouped_samples_per_s',
    'service_samples_per_s',
    'service_cpu_us_per_sample',
    'small_uploads_samples_per_s',
    'small_uploads_p50_ms',
    'small_uploads_p99_ms',
    'small_uploads_cpu_us_per_sample',
    'load_process_cpu_us_per_sample',
    'small_uploads_load_process_cpu_us_per_sample',
    'machine_cpu_us_per_sample',
    'machine_busy_percent',
    'small_uploads_machine_cpu_us_per_sample',
    'small_uploads_machine_busy_percent',
    'send_client_samples_per_s',
    'service_fsync_off_samples_per_s',
    'small_uploads_fsync_off_samples_per_s',
    'small_uploads_fsync_off_p50_ms',
    'service_peak_rss_mib',
    'decode_collection_samples_per_s',
    'decode_delimited_samples_per_s',
    'decode_json_samples_per_s',
    'decode_ndjson_samples_per_s',
    'decode_collection_gzip_samples_per_s',
  ]
  for (const figure of figures) {
    expect(report.median[figure], figure).toBeGreaterThan(0)
    expect(report.runs[0][figure], figure).toBe(report.median[figure])
  }
  // The true limit is the fastest way measured.
  expect(report.median.limit_rows_per_s).toBe(Math.max(report.median.limit_copy_text_rows_per_s, report.median.limit_copy_binary_rows_per_s, report.median.limit_copy_binary_slices_rows_per_s))
  for (const ratio of ['serviceToLimit', 'writerToLimit', 'smallUploadsToLimit', 'smallUploadsToService', 'sendClientToLimit']) {
    expect(report.ratios[ratio], ratio).toBeGreaterThan(0)
  }
  expect(report.settings.totalSamples).toBe(6000)
  expect(report.machine.nproc).toBeGreaterThan(0)
  expect(stdout).toContain('service / limit')
  expect(stdout).toContain('small uploads / large uploads')
  fs.rmSync(out, { recursive: true, force: true })
}, 300_000)
