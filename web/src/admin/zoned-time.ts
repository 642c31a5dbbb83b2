/**
 * Wall-clock times in a named time zone, for `datetime-local` inputs (`YYYY-MM-DDTHH:mm`, no
 * zone) that mean a time in the campaign's zone rather than the browser's. Intl only: the zone
 * rules are the browser's own tzdata.
 */

/** `zone` when this browser knows it (an IANA name such as `Europe/Berlin`), else undefined. */
export function knownZone(zone: string | undefined): string | undefined {
  if (!zone) return undefined
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return zone
  } catch {
    return undefined
  }
}

const formats = new Map<string, Intl.DateTimeFormat>()
function format(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    formats.set(zone, f)
  }
  return f
}

/** The calendar fields of instant `t` (ms) in `zone`, as if they were UTC: ms since the epoch. */
function wallMs(t: number, zone: string): number {
  const p = Object.fromEntries(
    format(zone)
      .formatToParts(t)
      .map((x) => [x.type, Number(x.value)]),
  )
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!)
}

/** How far `zone`'s clocks are ahead of UTC at instant `t`, in ms (seconds of old offsets dropped). */
const offsetMs = (t: number, zone: string) => wallMs(t - (t % 1000), zone) - (t - (t % 1000))

/** `2027-03-14T13:00:00.000Z` in `America/New_York` → `2027-03-14T09:00`; '' for no instant. */
export function wallClockOf(iso: string | undefined, zone: string): string {
  if (!iso) return ''
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return ''
  return new Date(wallMs(t, zone)).toISOString().slice(0, 16)
}

/**
 * The instant the clocks of `zone` show `local` (`YYYY-MM-DDTHH:mm`), as ISO; undefined for ''.
 * A time the clocks skip (a spring-forward gap) is the instant as many minutes after the gap; a
 * time they show twice (fall back) is the first of the two.
 */
export function instantOf(local: string, zone: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local)
  if (!m) return undefined
  const [, y, mo, d, h, mi] = m.map(Number) as [number, number, number, number, number, number]
  const asUtc = Date.UTC(y, mo - 1, d, h, mi)
  // The offset before and after the candidate instants; the earlier candidate that shows `local`
  // wins (fall back), and in a gap neither shows it: take the one the offset before gives.
  const before = offsetMs(asUtc - 86_400_000, zone)
  const after = offsetMs(asUtc + 86_400_000, zone)
  const candidates = [asUtc - Math.max(before, after), asUtc - Math.min(before, after)]
  const exact = candidates.find((t) => wallMs(t, zone) === asUtc)
  return new Date(exact ?? asUtc - before).toISOString()
}

/** A stored date alone or date-time without an offset, as rows written before the checks hold them. */
const LEGACY_FORM = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/

/** A legacy `start`/`end` (see `legacyTime`) as the server reads it. */
export interface LegacyTime {
  /** `date`: a date alone (the day's first instant); `local`: a wall-clock time without an offset. */
  form: 'date' | 'local'
  /** The day, `YYYY-MM-DD`. */
  date: string
  /** The wall-clock time it is read at, `HH:mm` (`HH:mm:ss` with seconds). */
  time: string
  /** The instant, as ISO. */
  at: string
}

/**
 * `raw` when it is a date alone (`2026-12-05`) or a date-time without an offset
 * (`2026-12-05T09:00`), read as the server reads it: that wall-clock time in `zone` (midnight for
 * a date; a time the clocks skip as the same minutes after the gap, a repeated one as the first).
 * Undefined for anything else, a date that does not exist (`2026-02-30`) included.
 */
export function legacyTime(raw: unknown, zone: string): LegacyTime | undefined {
  const m = typeof raw === 'string' ? LEGACY_FORM.exec(raw) : null
  if (!m) return undefined
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) => Number(v ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const day = new Date(Date.UTC(y, mo - 1, d))
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return undefined
  if (h > 23 || mi > 59 || s > 59) return undefined
  const date = `${m[1]}-${m[2]}-${m[3]}`
  const minutes = `${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}`
  const first = instantOf(`${date}T${minutes}`, zone)
  if (!first) return undefined
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000)
  return {
    form: m[4] === undefined ? 'date' : 'local',
    date,
    time: m[6] === undefined ? minutes : `${minutes}:${m[6]}`,
    at: new Date(Date.parse(first) + s * 1000 + ms).toISOString(),
  }
}
