// RFC 3339 timestamps as the proto3 JSON mapping writes them: `2024-03-01T08:00:00.250Z`,
// up to 9 fractional digits, `Z` or a numeric offset. Parsed by hand because Date keeps only
// milliseconds and maps years 0-99 to 19xx.

export interface ParsedTimestamp {
  seconds: number
  nanos: number
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

/** Returns undefined when the text is not an RFC 3339 timestamp with a valid calendar date. */
export function parseRfc3339(text: string): ParsedTimestamp | undefined {
  const match = RFC3339.exec(text)
  if (!match) return undefined
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  let offsetSeconds = 0
  if (!match[8]) {
    const offsetHours = Number(match[10])
    const offsetMinutes = Number(match[11])
    if (offsetHours > 23 || offsetMinutes > 59) return undefined
    offsetSeconds = (match[9] === '-' ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60)
  }
  const nanos = match[7] ? Number(match[7].padEnd(9, '0')) : 0
  const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
  return { seconds, nanos }
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146_097 + dayOfEra - 719_468
}
