import { useState } from 'preact/hooks'
import type { Campaign } from '../../../client/index.js'
import { instantOf, knownZone, wallClockOf } from './zoned-time.js'

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

/**
 * The stored `start` or `end`: `unreadable` when the server names it in `problems` (or it is not
 * a string this browser reads), so the input starts empty rather than showing, and on save
 * writing back, an instant the stored value never meant (`Date.parse(123)` is the year 123).
 */
function storedInstant(c: Campaign, key: 'start' | 'end') {
  const raw = (c.metadata as Record<string, any>).scheduling?.[key] as unknown
  if (raw === undefined || raw === null) return { unreadable: false as const, value: undefined, raw }
  const named = (c.problems ?? []).some((p) => p.path === `/metadata/scheduling/${key}`)
  const readable = typeof raw === 'string' && !Number.isNaN(Date.parse(raw))
  return named || !readable
    ? { unreadable: true as const, value: undefined, raw }
    : { unreadable: false as const, value: raw as string, raw }
}

/** Why an unreadable stored time shows empty, quoting what is stored (shortened, as JSON). */
function unreadableText(raw: unknown): string {
  let shown = JSON.stringify(raw) ?? String(raw)
  if (shown.length > 60) shown = `${shown.slice(0, 59)}…`
  return `The stored value ${shown} cannot be read as a time. Pick one, or leave it blank to remove it.`
}

/** The Start or End input, in the zone `shownIn`, with the reason a stored value shows empty. */
function InstantField(props: {
  name: 'start' | 'end'
  label: string
  stored: ReturnType<typeof storedInstant>
  shownIn: string
}) {
  const { name, label, stored, shownIn } = props
  return (
    <div class="field" data-invalid={stored.unreadable ? 'true' : 'false'}>
      <label for={`ed-${name}`}>{label}</label>
      <input
        id={`ed-${name}`}
        name={name}
        type="datetime-local"
        defaultValue={stored.unreadable ? '' : wallClockOf(stored.value, shownIn)}
        aria-describedby={`ed-${name}-error`}
        data-testid={`schedule-${name}`}
      />
      <span class="field-error" id={`ed-${name}-error`} data-testid={`schedule-${name}-error`}>
        {stored.unreadable ? unreadableText(stored.raw) : ''}
      </span>
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
