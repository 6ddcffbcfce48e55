// One simulated sample as a line of a source file: proto3 JSON of a `Sample` exactly as
// Google's printer writes it (int64 id as a string, the Any's "@type" first, fields in field
// order, zero values and false flags left out, RFC 3339 UTC with 0 or 3 fractional digits).
// Built by hand rather than with JSON.stringify on objects: this runs for every 50 Hz sample.
import type { SimulatedSample } from './samples.ts'

const TYPE_URL_PREFIX = 'type.googleapis.com/'

/** `{"id":"17","data":{"@type":"type.googleapis.com/Location",...},"timestamp":"..."}` without the newline. */
export function formatSampleLine(sample: SimulatedSample): string {
  let data: string
  switch (sample.kind) {
    case 'location':
      data = `{"@type":"${TYPE_URL_PREFIX}Location"${number('latitude', sample.data.latitude)}${number('longitude', sample.data.longitude)}}`
      break
    case 'activity':
      data = `{"@type":"${TYPE_URL_PREFIX}Activity"${flag('unknown', sample.data.unknown)}${flag('stationary', sample.data.stationary)}${flag('walking', sample.data.walking)}${flag('running', sample.data.running)}}`
      break
    case 'acceleration':
      data = `{"@type":"${TYPE_URL_PREFIX}Acceleration"${number('x', sample.data.x)}${number('y', sample.data.y)}${number('z', sample.data.z)}}`
      break
  }
  return `{"id":"${sample.id}","data":${data},"timestamp":"${formatTimestamp(sample.timeMs)}"}`
}

function number(name: string, value: number): string {
  // proto3 JSON leaves out zero; JavaScript's shortest round-trip form is what it prints.
  return value === 0 ? '' : `,"${name}":${value}`
}

function flag(name: string, value: boolean): string {
  return value ? `,"${name}":true` : ''
}

// Samples arrive in time order, so the date-and-second part repeats line after line.
let cachedSecond = Number.NaN
let cachedPrefix = ''

/** `2024-03-04T07:15:02Z` or `2024-03-04T07:15:02.020Z`. */
export function formatTimestamp(timeMs: number): string {
  const second = Math.floor(timeMs / 1000)
  if (second !== cachedSecond) {
    cachedSecond = second
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 19)
  }
  const millis = timeMs - second * 1000
  return millis === 0 ? `${cachedPrefix}Z` : `${cachedPrefix}.${String(millis).padStart(3, '0')}Z`
}
