import type { Campaign } from '../../../client/index.js'

/** `datetime-local` wants local time without a zone; the API stores ISO instants. */
const toLocal = (iso?: string) => {
  if (!iso) return ''
  const d = new Date(iso)
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
}
export const fromLocal = (v: string) => (v ? new Date(v).toISOString() : undefined)

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
 * When the campaign runs and how often its rooms broadcast: frequency, start and end (in this
 * browser's time zone, as `datetime-local` inputs are), the campaign's time zone, draft.
 */
export function ScheduleFields({ campaign: c }: { campaign: Campaign }) {
  const meta = c.metadata as Record<string, any>
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
        <div class="field">
          <label for="ed-start">Start</label>
          <input
            id="ed-start"
            name="start"
            type="datetime-local"
            defaultValue={toLocal(meta.scheduling?.start)}
          />
        </div>
        <div class="field">
          <label for="ed-end">End</label>
          <input id="ed-end" name="end" type="datetime-local" defaultValue={toLocal(meta.scheduling?.end)} />
        </div>
        <div class="field">
          <label for="ed-tz">Time zone</label>
          <input
            id="ed-tz"
            name="timezone"
            list="ed-tz-zones"
            defaultValue={meta.scheduling?.timezone ?? 'UTC'}
            maxLength={64}
          />
          <datalist id="ed-tz-zones">
            {ZONES.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </div>
      </div>
      {/* The inputs are local times: without saying so, an operator took them for the campaign's zone. */}
      <p class="hint" data-testid="schedule-zone-hint">
        Start and End are in this browser’s time zone ({BROWSER_ZONE}).
      </p>
      <label class="check">
        <input type="checkbox" name="draft" defaultChecked={c.draft} /> Draft (not live)
      </label>
    </fieldset>
  )
}
