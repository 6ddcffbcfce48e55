// The sample simulator (src/sim/, src/cli/simulate.ts): its files must be what the service
// and the upload client read (the same proto3-JSON reader, zero errors), the same seed must
// give the same bytes, and the numbers must look like one person's week in Berlin.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeJsonLines } from '../src/codec/json.ts'
import type { SampleBatch } from '../src/codec/samples.ts'
import { distanceMeters } from '../src/sim/geo.ts'
import { activityStateName, BERLIN, generateSamples, simulateToFiles, type SimulatedSample } from '../src/sim/index.ts'

const run = promisify(execFile)
const DAY_MS = 86_400_000
const KINDS = ['location', 'activity', 'acceleration'] as const
const PLACES = Object.values(BERLIN.places)

// The CLI run every test below reads: Monday 2024-03-04 to Wednesday, local midnight in Berlin (UTC+1).
const DAYS = 3
const SEED = 42
const ACCELERATION_HOURS = 0.05 // 3 minutes a day
const START_MS = Date.parse('2024-03-03T23:00:00Z')
const cliArgs = ['--days', String(DAYS), '--seed', String(SEED), '--acceleration-hours', String(ACCELERATION_HOURS)]

let workDir: string
let cliOut: string
let cli: { stdout: string; stderr: string }
const batches = {} as Record<(typeof KINDS)[number], SampleBatch>
const lineCounts = {} as Record<(typeof KINDS)[number], number>
const texts = {} as Record<(typeof KINDS)[number], string>

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'simulate-test-'))
  cliOut = join(workDir, 'cli')
  cli = await run(process.execPath, ['--import', 'tsx', 'src/cli/simulate.ts', ...cliArgs, '--out', cliOut], { cwd: join(import.meta.dirname, '..') })
  for (const kind of KINDS) {
    const bytes = await readFile(join(cliOut, `${kind}.jsonl`))
    texts[kind] = bytes.toString('utf8')
    lineCounts[kind] = texts[kind].split('\n').filter((line) => line !== '').length
    // The reader the service and the client use: it throws on the first line it refuses.
    batches[kind] = decodeJsonLines(bytes)
  }
})

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true })
})

const timesMs = (kind: (typeof KINDS)[number]) => {
  const columns = batches[kind][kind]
  return columns.seconds.map((seconds, index) => seconds * 1000 + columns.micros[index]! / 1000)
}

describe('simulate CLI output', () => {
  it('is one proto3-JSON Sample a line, every line accepted by the service reader, each file of its own kind', () => {
    for (const kind of KINDS) {
      expect(lineCounts[kind]).toBeGreaterThan(0)
      expect(batches[kind].count).toBe(lineCounts[kind])
      expect(batches[kind][kind].sampleIds).toHaveLength(lineCounts[kind])
      for (const other of KINDS) if (other !== kind) expect(batches[kind][other].sampleIds).toHaveLength(0)
    }
    // The exact shape of the clients' source files (docs/client-and-simulator.md): int64 as a string, "@type" first, RFC 3339 UTC, zeros and false left out.
    const first = texts.location.split('\n')[0]!
    expect(first).toMatch(/^\{"id":"1","data":\{"@type":"type\.googleapis\.com\/Location","latitude":52\.\d+,"longitude":13\.\d+\},"timestamp":"2024-03-03T23:00:00(\.\d{3})?Z"\}$/)
    expect(texts.activity).toMatch(/^\{"id":"\d+","data":\{"@type":"type\.googleapis\.com\/Activity","stationary":true\},"timestamp":"[\d-]+T[\d:.]+Z"\}$/m)
    expect(texts.acceleration).toMatch(/^\{"id":"\d+","data":\{"@type":"type\.googleapis\.com\/Acceleration","x":-?[\d.]+,"y":-?[\d.]+,"z":-?[\d.]+\},"timestamp":"[\d-]+T[\d:]+\.\d{3}Z"\}$/m)
    for (const kind of KINDS) expect(texts[kind]).not.toMatch(/:false|:0[,}]|:-0[,}]/)
  })

  it('numbers samples with unique int64 ids that count up in time order in every file', () => {
    const all = new Set<string>()
    for (const kind of KINDS) {
      const ids = batches[kind][kind].sampleIds.map(Number)
      const times = timesMs(kind)
      ids.forEach((id, index) => {
        if (index > 0) {
          expect(id).toBeGreaterThan(ids[index - 1]!)
          expect(times[index]).toBeGreaterThanOrEqual(times[index - 1]!)
        }
        all.add(String(id))
      })
    }
    const total = lineCounts.location + lineCounts.activity + lineCounts.acceleration
    expect(all.size).toBe(total)
    expect(Math.max(...[...all].map(Number))).toBe(total)
  })

  it('covers exactly the requested days from local midnight', () => {
    const times = KINDS.flatMap((kind) => timesMs(kind))
    const first = Math.min(...times)
    const last = Math.max(...times)
    expect(first).toBe(START_MS) // monitoring starts with a fix of where the phone is
    expect(last).toBeLessThan(START_MS + DAYS * DAY_MS)
    // Even asleep, the phone reports its activity at least once an hour.
    expect(last).toBeGreaterThan(START_MS + DAYS * DAY_MS - 3_600_000)
  })

  it('reports a location only after a move of ~500 m, or on arriving at a place', () => {
    const { latitudes, longitudes } = batches.location.location
    const fixes = latitudes.map((latitude, index) => ({ latitude, longitude: longitudes[index]! }))
    let arrivals = 0
    for (let index = 1; index < fixes.length; index++) {
      const moved = distanceMeters(fixes[index - 1]!, fixes[index]!)
      if (moved >= 400) continue
      // The rule's exceptions: a visit fix (or the fix of a phone switched on), within the 30 m
      // error of a known place, and wifi fixes up to 250 m off home.
      const nearest = Math.min(...PLACES.map((place) => distanceMeters(place, fixes[index]!)))
      // (the move after one of those is measured from home, not from where it was reported).
      const nearHome = Math.min(distanceMeters(BERLIN.places.home, fixes[index]!), distanceMeters(BERLIN.places.home, fixes[index - 1]!)) < 260
      expect(nearHome ? 0 : nearest, `fix ${index} is ${moved.toFixed(0)} m from the one before`).toBeLessThan(100)
      arrivals++
    }
    expect(arrivals).toBeGreaterThan(0)
    for (const fix of fixes) expect(distanceMeters(fix, BERLIN.places.home)).toBeLessThan(40_000)
    const near = (placeName: keyof typeof BERLIN.places) => fixes.some((fix) => distanceMeters(fix, BERLIN.places[placeName]) < 150)
    expect(near('home')).toBe(true)
    expect(near('work')).toBe(true)
  })

  it('records acceleration at 50 Hz in bursts that add up to --acceleration-hours a day', () => {
    const times = timesMs('acceleration')
    let bursts = 1
    for (let index = 1; index < times.length; index++) {
      const gap = times[index]! - times[index - 1]!
      if (gap === 20) continue
      expect(gap, `gap before acceleration sample ${index}`).toBeGreaterThan(1000)
      bursts++
    }
    expect(times).toHaveLength(Math.round(DAYS * ACCELERATION_HOURS * 3600 * 50))
    expect(bursts).toBe(DAYS * 3) // 3 minutes a day in bursts of about a minute
  })

  it('prints statistics that match the files: samples per kind, activity shares, time span, files', () => {
    for (const kind of KINDS) {
      expect(cli.stdout).toMatch(new RegExp(`^ +${kind} +${lineCounts[kind]}$`, 'm'))
      expect(cli.stdout).toContain(join(cliOut, `${kind}.jsonl`))
    }
    expect(cli.stdout).toMatch(/^time span: 2024-03-03T23:00:00\.000Z \.\. 2024-03-06T2\d:[\d:.]+Z \((2\.9\d|3\.00) days\)$/m)
    expect(cli.stdout).toContain(`acceleration: ${DAYS * 3} bursts, 0.150 h at 50 Hz`)

    const shares = [...cli.stdout.matchAll(/^ {2}([a-z+]+) +([\d.]+) % +\((\d+)\)$/gm)].map((match) => ({ state: match[1]!, percent: Number(match[2]), count: Number(match[3]) }))
    const sumOfPercent = shares.reduce((sum, share) => sum + share.percent, 0)
    expect(sumOfPercent).toBeGreaterThan(99.5)
    expect(sumOfPercent).toBeLessThan(100.5)
    expect(shares.reduce((sum, share) => sum + share.count, 0)).toBe(lineCounts.activity)
    // Counted again from the file, by the reader's columns.
    const activity = batches.activity.activity
    const fromFile = new Map<string, number>()
    activity.sampleIds.forEach((_, index) => {
      const name = activityStateName({ unknown: activity.unknown[index], stationary: activity.stationary[index], walking: activity.walking[index], running: activity.running[index] })
      fromFile.set(name, (fromFile.get(name) ?? 0) + 1)
    })
    for (const share of shares) expect(fromFile.get(share.state)).toBe(share.count)
    // A person who sits most of the day and walks between places; flags are not exclusive.
    const percentOf = (state: string) => shares.find((share) => share.state === state)?.percent ?? 0
    expect(percentOf('stationary')).toBeGreaterThan(20)
    expect(percentOf('walking')).toBeGreaterThan(5)
    expect(percentOf('none')).toBeGreaterThan(0)
    expect(shares.some((share) => share.state.includes('+'))).toBe(true)

    expect(cli.stderr).toContain(`day ${DAYS}/${DAYS}`)
  })
})

describe('simulation library', () => {
  it('writes the same bytes for the same seed (as the CLI did), and other bytes for another seed', async () => {
    const options = { days: DAYS, seed: SEED, accelerationHoursPerDay: ACCELERATION_HOURS }
    await simulateToFiles(options, join(workDir, 'again'))
    await simulateToFiles({ ...options, seed: SEED + 1 }, join(workDir, 'other'))
    for (const kind of KINDS) {
      const again = await readFile(join(workDir, 'again', `${kind}.jsonl`), 'utf8')
      const other = await readFile(join(workDir, 'other', `${kind}.jsonl`), 'utf8')
      expect(again === texts[kind], `${kind}.jsonl is the same for the same seed`).toBe(true)
      expect(other === texts[kind], `${kind}.jsonl differs for another seed`).toBe(false)
    }
  })

  it('moves the phone the way the activity says: still on a table, a ~2 Hz gait walking, stronger running', () => {
    // Around each activity report inside a burst, the spread of |a| over ±1 s of 50 Hz samples.
    const spreadByState = new Map<string, number[]>()
    const recent: Array<SimulatedSample & { kind: 'acceleration' }> = []
    const waiting: Array<{ state: string; timeMs: number }> = []
    const settle = (timeMs: number) => {
      while (waiting.length > 0 && waiting[0]!.timeMs + 1000 <= timeMs) {
        const report = waiting.shift()!
        const window = recent.filter((sample) => Math.abs(sample.timeMs - report.timeMs) <= 1000)
        if (window.length < 100) continue // not inside a burst
        const magnitudes = window.map(({ data }) => Math.hypot(data.x, data.y, data.z))
        const mean = magnitudes.reduce((sum, value) => sum + value, 0) / magnitudes.length
        const spread = Math.sqrt(magnitudes.reduce((sum, value) => sum + (value - mean) ** 2, 0) / magnitudes.length)
        spreadByState.set(report.state, [...(spreadByState.get(report.state) ?? []), spread])
      }
    }
    // A week with an hour of recording a day; this seed's bursts catch runs on foot and on the treadmill.
    for (const sample of generateSamples({ days: 7, seed: 2, accelerationHoursPerDay: 1 })) {
      if (sample.kind === 'acceleration') {
        recent.push(sample)
        while (recent[0]!.timeMs < sample.timeMs - 2000) recent.shift()
        settle(sample.timeMs)
      } else if (sample.kind === 'activity') {
        waiting.push({ state: activityStateName(sample.data), timeMs: sample.timeMs })
      }
      settle(sample.timeMs)
    }
    const median = (state: string) => {
      const values = [...(spreadByState.get(state) ?? [])].sort((a, b) => a - b)
      expect(values.length, `activity reports "${state}" inside bursts`).toBeGreaterThan(2)
      return values[Math.floor(values.length / 2)]!
    }
    expect(median('stationary')).toBeLessThan(0.02)
    expect(median('walking')).toBeGreaterThan(0.08)
    expect(median('running')).toBeGreaterThan(0.3)
    expect(median('running')).toBeGreaterThan(2 * median('walking'))
  })

  it('follows a weekly routine: the office on weekdays, never on weekends', () => {
    // A visit fix lies within the fix error (30 m) of the place; passing by on a train may come closer than 150 m.
    const nearWorkByDay = new Map<number, number>()
    for (const sample of generateSamples({ days: 14, seed: SEED, accelerationHoursPerDay: 0 })) {
      if (sample.kind !== 'location' || distanceMeters(sample.data, BERLIN.places.work) > 40) continue
      const dayIndex = Math.floor((sample.timeMs - START_MS) / DAY_MS)
      nearWorkByDay.set(dayIndex, (nearWorkByDay.get(dayIndex) ?? 0) + 1)
    }
    const weekdays = [0, 1, 2, 3, 4, 7, 8, 9, 10, 11] // from Monday 2024-03-04
    expect(weekdays.filter((day) => nearWorkByDay.has(day)).length).toBeGreaterThanOrEqual(6)
    for (const weekend of [5, 6, 12, 13]) expect(nearWorkByDay.has(weekend), `day ${weekend} is a weekend day`).toBe(false)
  })

  it('refuses options it cannot simulate before writing anything', () => {
    expect(() => generateSamples({ days: 0 })).toThrow(RangeError)
    expect(() => generateSamples({ days: 1, accelerationHoursPerDay: 25 })).toThrow(RangeError)
    expect(() => generateSamples({ days: 1, startDate: '2024-02-30' })).toThrow(RangeError)
  })
})
