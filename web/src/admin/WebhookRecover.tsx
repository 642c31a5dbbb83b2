import { useEffect, useState } from 'preact/hooks'
import type { Webhook } from '../../../client/index.js'

/** How far back recovery looks unless told otherwise: a day covers a night's outage. */
const DEFAULT_LOOKBACK_MS = 24 * 60 * 60 * 1000

/**
 * How far before the endpoint was disabled recovery starts: the messages that failed in the
 * minutes before the receiver's 410 are then included.
 */
const BEFORE_DISABLED_MS = 10 * 60 * 1000

/** The zone a datetime-local input is read in: this browser's. */
const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone

/**
 * This browser's zone by name and, at `at`, its short name or offset (`Asia/Kolkata time,
 * GMT+5:30`; `America/New_York time, EST`): the field took a bare time, and operators in other zones read it.
 */
function zoneName(at: Date | undefined): string {
  const short =
    at &&
    new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' })
      .formatToParts(at)
      .find((p) => p.type === 'timeZoneName')?.value
  return short && short !== BROWSER_ZONE ? `${BROWSER_ZONE} time, ${short}` : `${BROWSER_ZONE} time`
}

/** `date` as a datetime-local input's value: the browser's local time, to the minute. */
function localInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  )
}

/**
 * Where recovery starts by default, which the operator narrows or widens: just before the endpoint
 * was disabled when that is known (`disabled_at`), else a day back.
 */
function defaultSince(disabledAt: string | null, now = Date.now()): string {
  const at = disabledAt ? new Date(disabledAt).getTime() - BEFORE_DISABLED_MS : now - DEFAULT_LOOKBACK_MS
  return localInputValue(new Date(at))
}

/**
 * "Recover messages": sends again every failed or cancelled message of an endpoint created since
 * a time (`POST …/recover {since}`). Refused while the endpoint is disabled, so the button waits
 * for Enable and says so, rather than letting the operator meet a 409.
 */
export function RecoverMessages(props: {
  hook: Webhook
  pending: boolean
  onRecover: (since: Date) => void
}) {
  const { hook } = props
  const [since, setSince] = useState(() => defaultSince(hook.disabled_at))
  const [edited, setEdited] = useState(false)
  // Disabled while the page was open: start from then, unless the operator picked a time. Enable
  // clears `disabled_at`, and the time stays, as recovery follows an enable.
  useEffect(() => {
    if (hook.disabled_at && !edited) setSince(defaultSince(hook.disabled_at))
  }, [hook.disabled_at])
  const id = `wh-${hook.id}-since`
  // The input's value is local time without a zone; `new Date` reads it as such.
  const picked = since ? new Date(since) : undefined
  const valid = picked !== undefined && !Number.isNaN(picked.getTime())
  return (
    <form
      class="toolbar"
      data-testid="webhook-recover"
      onSubmit={(e) => {
        e.preventDefault()
        if (valid && hook.enabled) props.onRecover(picked)
      }}
    >
      <div class="field inline">
        <label for={id}>
          Recover messages since{' '}
          <span class="muted" data-testid="webhook-recover-zone">
            ({zoneName(valid ? picked : new Date())})
          </span>
        </label>
        <input
          id={id}
          type="datetime-local"
          required
          value={since}
          aria-describedby={`${id}-hint`}
          data-testid="webhook-recover-since"
          onInput={(e) => {
            setEdited(true)
            setSince((e.currentTarget as HTMLInputElement).value)
          }}
        />
      </div>
      <button
        class="btn btn-soft btn-sm"
        type="submit"
        disabled={props.pending || !hook.enabled || !valid}
        data-testid="webhook-recover-button"
      >
        Recover messages
      </button>
      <span class="hint grow" id={`${id}-hint`} data-testid="webhook-recover-hint">
        {hook.enabled
          ? 'Sends again every failed or cancelled message created since then, with a fresh retry budget.'
          : 'Enable the endpoint first: nothing is sent while it is disabled.'}
      </span>
    </form>
  )
}
