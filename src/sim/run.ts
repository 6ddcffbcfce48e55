// A whole simulation written to disk: the loop the CLI runs, kept here so tests and other
// tools can run it in-process.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { formatSampleLine } from './jsonl.ts'
import { generateSamples, groundTruth, type SimulationOptions } from './simulation.ts'
import { collectStats, type SimulationStats } from './stats.ts'
import { openSampleFiles, type WrittenFile } from './writer.ts'

export interface SimulationProgress {
  /** 0-based index of the day being generated. */
  dayIndex: number
  lines: number
  bytes: number
}

export interface SimulationResult {
  stats: SimulationStats
  files: WrittenFile[]
  /** ground-truth.json: where the person really was and when the phone was off (GROUND_TRUTH_FILE). */
  groundTruthPath: string
}

export const GROUND_TRUTH_FILE = 'ground-truth.json'

/** Checking the clock for every 50 Hz sample would cost more than progress is worth. */
const PROGRESS_CHECK_EVERY_LINES = 4096

/**
 * Writes location.jsonl, activity.jsonl and acceleration.jsonl into `directory`, and
 * ground-truth.json: `{"stays": [{"place", "latitude", "longitude", "from", "to"}], "phoneOff": [{"from", "to"}]}`
 * (RFC 3339 times; a stay is time at a place with the phone on).
 * Options are checked before any file is touched (RangeError).
 */
export async function simulateToFiles(
  options: SimulationOptions,
  directory: string,
  progress?: { everyMs: number; report(progress: SimulationProgress): void },
): Promise<SimulationResult> {
  let dayIndex = 0
  const samples = generateSamples({ ...options, onDay: (day) => (dayIndex = day.index) })
  const files = await openSampleFiles(directory)
  const collector = collectStats()
  let lines = 0
  let nextReportMs = performance.now() + (progress?.everyMs ?? 0)
  for (const sample of samples) {
    collector.record(sample)
    const waitForDisk = files.write(sample.kind, formatSampleLine(sample))
    if (waitForDisk) await waitForDisk
    if (progress && ++lines % PROGRESS_CHECK_EVERY_LINES === 0 && performance.now() >= nextReportMs) {
      progress.report({ dayIndex, lines, bytes: files.bytesWritten() })
      nextReportMs = performance.now() + progress.everyMs
    }
  }
  const written = await files.close()
  const truth = groundTruth(options)
  const iso = (ms: number) => new Date(ms).toISOString()
  const groundTruthPath = join(directory, GROUND_TRUTH_FILE)
  await writeFile(groundTruthPath, JSON.stringify({
    stays: truth.stays.map(({ fromMs, toMs, ...stay }) => ({ ...stay, from: iso(fromMs), to: iso(toMs) })),
    phoneOff: truth.phoneOff.map(([fromMs, toMs]) => ({ from: iso(fromMs), to: iso(toMs) })),
  }, null, 1) + '\n')
  return { stats: collector.stats(), files: written, groundTruthPath }
}
