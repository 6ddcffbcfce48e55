// Local wall-clock time of the simulated city, so that "leaves at 08:15" means 08:15 in
// Berlin in winter and in summer. Node ships full ICU, so Intl knows the zone's rules.

const HOUR_MS = 3_600_000
const formatters = new Map<string, Intl.DateTimeFormat>()

/** Offset of local time from UTC at an instant, in milliseconds (+1 h for Berlin in winter). */
export function utcOffsetMs(timeZone: string, instantMs: number): number {
  let formatter = formatters.get(timeZone)
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    formatters.set(timeZone, formatter)
  }
  const name = formatter.formatToParts(instantMs).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT'
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name)
  if (!match) return 0 // "GMT" alone: the zone is at UTC
  const sign = match[1] === '-' ? -1 : 1
  return sign * (Number(match[2]) * HOUR_MS + Number(match[3]) * 60_000)
}

/** The instant of local midnight that starts a calendar date (`2024-03-04`) in the zone. */
export function localMidnight(timeZone: string, date: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  if (!match) throw new RangeError(`"${date}" is not a date like 2024-03-04`)
  const utcMidnight = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))
  if (Number.isNaN(utcMidnight) || new Date(utcMidnight).toISOString().slice(0, 10) !== date) throw new RangeError(`"${date}" is not a valid date`)
  // Zones change their offset at night but never at midnight itself, so one correction is exact.
  return utcMidnight - utcOffsetMs(timeZone, utcMidnight - utcOffsetMs(timeZone, utcMidnight))
}

/** The instant at which local clocks show `hours` (e.g. 8.25 for 08:15) on the day starting at `dayStartMs`. */
export function atLocalHour(timeZone: string, dayStartMs: number, hours: number): number {
  const naive = dayStartMs + hours * HOUR_MS
  // On the days clocks change, an hour-of-day after the change moves by the difference.
  return naive - (utcOffsetMs(timeZone, naive) - utcOffsetMs(timeZone, dayStartMs))
}

/** Day of week of a local day (0 = Sunday ... 6 = Saturday). */
export function localWeekday(timeZone: string, dayStartMs: number): number {
  return new Date(dayStartMs + utcOffsetMs(timeZone, dayStartMs) + HOUR_MS).getUTCDay()
}
