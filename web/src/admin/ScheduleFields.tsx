import { useState } from 'preact/hooks'
import type { Campaign } from '../../../client/index.js'
import { instantOf, knownZone, type LegacyTime, legacyTime, wallClockOf } from './zoned-time.js'

/** The zones the time-zone field suggests (the server accepts what `Intl` knows). */
const ZONES: string[] = (() => {
  try {
    return ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')]
  } catch {
    return ['UTC']
  }
})()
const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone

/**
 * The zone the Start and End inputs are read in: the campaign's time zone as typed, or this
 * browser's while the field names no zone the browser knows (the server refuses the save then).
 */
export const inputZone = (typed: string | undefined) => knownZone(typed) ?? BROWSER_ZONE

/** A Start or End input's value as the instant the API stores; undefined when left blank. */
export const scheduleInstant = (local: string, typedZone: string | undefined) =>
  instantOf(local, inputZone(typedZone))

/** The zone the server reads a stored date or date-time without an offset in (see `legacyTime`). */
const readZone = (c: Campaign) => knownZone((c.metadata as Record<string, any>).scheduling?.timezone) ?? 'UTC'

/**
 * The stored `start` or `end`: `legacy` when it is a date alone or a date-time without an offset
 * (stored before the checks), shown as the instant the server reads it as (`value`, in the
 * campaign's zone); `unreadable` when the server names it in `problems` otherwise (or it is not a
 * string this browser reads), so the input starts empty rather than showing, and on save writing
 * back, an instant the stored value never meant (`Date.parse(123)` is the year 123).
 */
function storedInstant(c: Campaign, key: 'start' | 'end'): StoredTime {
  const raw = (c.metadata as Record<string, any>).scheduling?.[key] as unknown
  if (raw === undefined || raw === null) return { kind: 'none', raw }
  const zone = readZone(c)
  const legacy = legacyTime(raw, zone)
  if (legacy) return { kind: 'legacy', value: legacy.at, legacy, zone, raw }
  const named = (c.problems ?? []).some((p) => p.path === `/metadata/scheduling/${key}`)
  const readable = typeof raw === 'string' && !Number.isNaN(Date.parse(raw))
  return named || !readable ? { kind: 'unreadable', raw } : { kind: 'instant', value: raw as string, raw }
}

type StoredTime =
  | { kind: 'none' | 'unreadable'; raw: unknown }
  | { kind: 'instant'; value: string; raw: unknown }
  | { kind: 'legacy'; value: string; legacy: LegacyTime; zone: string; raw: unknown }

/**
 * What a save stores for the Start or End input's `local` value: what is stored, as it is, while
 * the input and the time zone are as the form showed them (a stored time with seconds, or a
 * legacy date, would otherwise be rewritten as another instant, or moved by a zone it was not
 * read in); a legacy date or time as the instant the server reads it as; else the wall-clock time
 * read in the typed zone (undefined when blank).
 */
export function scheduleValue(
  c: Campaign,
  key: 'start' | 'end',
  local: string,
  typedZone: string | undefined,
): string | undefined {
  const stored = storedInstant(c, key)
  const shownIn = inputZone((c.metadata as Record<string, any>).scheduling?.timezone)
  if (
    (stored.kind === 'instant' || stored.kind === 'legacy') &&
    inputZone(typedZone) === shownIn &&
    local === wallClockOf(stored.value, shownIn)
  )
    return stored.value
  return scheduleInstant(local, typedZone)
}

/** How a legacy date or time is read: "starts 2026-12-05 (00:00, Europe/Paris)". */
function legacyText(key: 'start' | 'end', stored: Extract<StoredTime, { kind: 'legacy' }>): string {
  const { form, date, time } = stored.legacy
  const what = form === 'date' ? 'a date without a time' : 'a time without an offset'
  // A time the clocks skip that day (a spring-forward gap, or a midnight some zones skip) is read
  // as the same minutes after the gap: the Start or End input shows that one.
  const read = wallClockOf(stored.value, stored.zone)
  const skipped =
    read.slice(11) !== time.slice(0, 5) ? `, which the clocks skip: read as ${read.slice(11)}` : ''
  return (
    `Stored as ${JSON.stringify(stored.raw)}, ${what}: ${key === 'start' ? 'starts' : 'ends'} ${date} ` +
    `(${time}, ${stored.zone}${skipped}). Saving keeps that instant, written with its offset.`
  )
}

/** Why an unreadable stored time shows empty, quoting what is stored (shortened, as JSON). */
function unreadableText(raw: unknown): string {
  let shown = JSON.stringify(raw) ?? String(raw)
  if (shown.length > 60) shown = `${shown.slice(0, 59)}…`
  return `The stored value ${shown} cannot be read as a time. Pick one, or leave it blank to remove it.`
}

/** The Start or End input, in the zone `shownIn`, with the reason a stored value shows empty. */
function InstantField(props: { name: 'start' | 'end'; label: string; stored: StoredTime; shownIn: string }) {
  const { name, label, stored, shownIn } = props
  const unreadable = stored.kind === 'unreadable'
  return (
    <div class="field" data-invalid={unreadable ? 'true' : 'false'}>
      <label for={`ed-${name}`}>{label}</label>
      <input
        id={`ed-${name}`}
        name={name}
        type="datetime-local"
        defaultValue={'value' in stored ? wallClockOf(stored.value, shownIn) : ''}
        aria-describedby={`ed-${name}-error ed-${name}-note`}
        data-testid={`schedule-${name}`}
      />
      <span class="field-error" id={`ed-${name}-error`} data-testid={`schedule-${name}-error`}>
        {unreadable ? unreadableText(stored.raw) : ''}
      </span>
      {stored.kind === 'legacy' && (
        <span class="hint" id={`ed-${name}-note`} data-testid={`schedule-${name}-note`}>
          {legacyText(name, stored)}
        </span>
      )}
    </div>
  )
}

/**
 * When the campaign runs and how often its rooms broadcast: frequency, start and end, the
 * campaign's time zone, draft. Start and End are wall-clock times in the campaign's time zone
 * (a launch at 09:00 New York time reads 09:00 whoever opens the editor, wherever).
 */
export function ScheduleFields({ campaign: c }: { campaign: Campaign }) {
  const meta = c.metadata as Record<string, any>
  const stored: string = meta.scheduling?.timezone ?? 'UTC'
  const [typed, setTyped] = useState(stored)
  const shownIn = inputZone(stored)
  const readIn = inputZone(typed)
  return (
    <fieldset class="group">
      <legend>Schedule and broadcast</legend>
      <div class="grid-4 schedule">
        <div class="field">
          <label for="ed-freq">Frequency (Hz)</label>
          <input
            id="ed-freq"
            name="frequency"
            type="number"
            required
            min={0.1}
            max={60}
            step={0.1}
            defaultValue={String(meta.scheduling?.frequency ?? 1)}
          />
        </div>
        <InstantField name="start" label="Start" stored={storedInstant(c, 'start')} shownIn={shownIn} />
        <InstantField name="end" label="End" stored={storedInstant(c, 'end')} shownIn={shownIn} />
        <div class="field">
          <label for="ed-tz">Time zone</label>
          <input
            id="ed-tz"
            name="timezone"
            list="ed-tz-zones"
            value={typed}
            onInput={(e) => setTyped((e.currentTarget as HTMLInputElement).value)}
            maxLength={64}
          />
          <datalist id="ed-tz-zones">
            {ZONES.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </div>
      </div>
      <p class="hint" data-testid="schedule-zone-hint">
        {readIn === typed
          ? `Start and End are times in ${readIn}.`
          : `Start and End are times in ${readIn}, this browser’s time zone, until the time zone field names one.`}
      </p>
      <label class="check">
        <input type="checkbox" name="draft" defaultChecked={c.draft} /> Draft (not live)
      </label>
    </fieldset>
  )
}
