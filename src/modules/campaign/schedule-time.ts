// How a stored `scheduling.start`/`end` is read as an instant. Today's checks store only RFC 3339
// date-times with an offset; rows stored before them may hold a date alone ("2026-12-01") or a
// date-time without an offset ("2026-12-01T09:00"), which `Date.parse` reads in UTC and in the
// server's own zone respectively. Here both are read as wall-clock time in the campaign's zone.

const DAY_MS = 86_400_000
/** `Date`'s range (ECMA-262 §21.4.1.22): an instant outside it cannot be read. */
const MAX_MS = 8.64e15

/** `YYYY-MM-DD` (or an expanded year, `+YYYYYY-MM-DD`), optionally `T`/space `hh:mm[:ss[.fff]]`, no offset. */
const LOCAL_FORM = /^(\d{4}|[+-]\d{6})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/

export interface ScheduleTime {
  /** Milliseconds since the epoch; NaN when the value cannot be read. */
  at: number
  /**
   * How it was read: `instant` (it names its offset), `date` (a date alone: the first instant of
   * that day in `zone`), `local` (a date-time without an offset: that wall-clock time in `zone`).
   */
  form: 'instant' | 'date' | 'local'
}

/**
 * `value` (a string) as an instant. A date alone or a date-time without an offset is read in
 * `zone` (an IANA zone `Intl` knows; callers pass `UTC` when the campaign has none): a date at the
 * first instant of that day there (midnight, or when midnight is skipped by a clock change, the
 * instant the day starts), a wall-clock time the clocks skip as moved forward by the gap and one
 * they repeat as the earlier instant (RFC 9557's and Temporal's "compatible" reading). A calendar
 * date that does not exist ("2026-02-30"), a 24th hour or a 60th second is NaN, never rolled over.
 * Anything else is read as `Date.parse` reads it (NaN when it cannot be).
 */
export function readScheduleTime(value: string, zone: string): ScheduleTime {
  const m = LOCAL_FORM.exec(value)
  if (!m) return { at: Date.parse(value), form: 'instant' }
  const form = m[4] === undefined ? 'date' : 'local'
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) =>
    v === undefined ? 0 : Number(v),
  ) as [number, number, number, number, number, number]
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000)
  const valid =
    m[1] !== '-000000' &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysIn(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59
  if (!valid) return { at: Number.NaN, form }
  const wall = new Date(0)
  wall.setUTCFullYear(year, month - 1, day)
  wall.setUTCHours(hour, minute, second, ms)
  return { at: wallClockToInstant(wall.getTime(), zone), form }
}

function daysIn(year: number, month: number): number {
  const d = new Date(0)
  d.setUTCFullYear(year, month, 0)
  return d.getUTCDate()
}

/** The instant at which `zone`'s clocks read `wall` (a wall-clock time written as a UTC instant). */
function wallClockToInstant(wall: number, zone: string): number {
  if (!Number.isFinite(wall) || Math.abs(wall) > MAX_MS - 2 * DAY_MS) return Number.NaN
  try {
    // The offsets in force a day either side: one, or the two around a clock change.
    const before = offsetAt(zone, wall - DAY_MS)
    const after = offsetAt(zone, wall + DAY_MS)
    const fits = [before, after].map((o) => wall - o).filter((t) => t + offsetAt(zone, t) === wall)
    // A wall time read twice: the earlier; one skipped: the old offset's reading (moved forward).
    const at = fits.length > 0 ? Math.min(...fits) : wall - before
    return Math.abs(at) <= MAX_MS ? at : Number.NaN
  } catch {
    // An unreadable offset or an instant outside `Intl`'s range: unreadable, never an error.
    return Number.NaN
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>()

/** `zone`'s offset from UTC at `at` (ms, seconds included: local mean time had them). */
function offsetAt(zone: string, at: number): number {
  let f = formatters.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    if (formatters.size >= 1000) formatters.clear()
    formatters.set(zone, f)
  }
  const name = f.formatToParts(new Date(at)).find((p) => p.type === 'timeZoneName')?.value ?? ''
  const m = /^(?:GMT|UTC)(?:([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/.exec(name)
  if (!m) throw new RangeError(`Unreadable offset ${name} in ${zone}`)
  if (m[1] === undefined) return 0
  const size = (Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0)) * 1000
  return m[1] === '-' ? -size : size
}
