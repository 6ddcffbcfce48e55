// A whole simulation written to disk: the loop the CLI runs, kept here so tests and other
// tools can run it in-process.
import { formatSampleLine } from './jsonl.ts'
import { generateSamples, type SimulationOptions } from './simulation.ts'
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
}

/** Checking the clock for every 50 Hz sample would cost more than progress is worth. */
const PROGRESS_CHECK_EVERY_LINES = 4096

/**
 * Writes location.jsonl, activity.jsonl and acceleration.jsonl into `directory`.
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
  return { stats: collector.stats(), files: written }
}
