import { useEffect, useState } from 'preact/hooks'
import {
  OvasabiError,
  type OvasabiClient,
  type Webhook,
  type WebhookDelivery,
  type WebhookInput,
} from '../../../client/index.js'
import { errorText, useLoad } from './api.js'
import { type Column, DataTable, LoadView, localTime, ShownOnce } from './ui.js'
import { CircuitBadge } from './WebhookCircuit.js'
import { RecoverMessages } from './WebhookRecover.js'
import { useOneAtATime } from './one-at-a-time.js'

/** The events a CRM endpoint can subscribe to (`WEBHOOK_EVENTS` in the notification module). */
const EVENTS: WebhookInput['events'] = ['lead.created', 'lead.updated', 'lead.erased', '*']

/** The URL and event fields of an endpoint, empty (add) or filled from one (edit). */
function EndpointFields({ idPrefix, hook }: { idPrefix: string; hook?: Webhook }) {
  return (
    <>
      <div class="field">
        <label for={`${idPrefix}-url`}>URL</label>
        <input
          id={`${idPrefix}-url`}
          name="url"
          type="url"
          required
          maxLength={2048}
          aria-describedby={`${idPrefix}-url-hint`}
          defaultValue={hook?.url}
          placeholder="https://crm.example.com/hooks/ovasabi"
        />
        <span class="hint" id={`${idPrefix}-url-hint`}>
          An http:// or https:// address the CRM listens on.
        </span>
      </div>
      <fieldset class="group">
        <legend>Events</legend>
        <div class="toggles">
          {EVENTS.map((ev) => (
            <label key={ev} class="check">
              <input
                type="checkbox"
                name={ev}
                defaultChecked={hook ? hook.events.includes(ev) : ev.startsWith('lead.')}
              />{' '}
              <code>{ev}</code>
            </label>
          ))}
        </div>
      </fieldset>
    </>
  )
}

/**
 * The form's endpoint, or what to fix first, in words: the server's refusals for these
 * ("url must match pattern \"^https?://\"", "events must NOT have fewer than 1 items") are schema text.
 */
function endpointInput(form: HTMLFormElement): WebhookInput | string {
  const f = new FormData(form)
  const url = String(f.get('url') ?? '').trim()
  const events = EVENTS.filter((ev) => f.get(ev) === 'on')
  if (!/^https?:\/\/\S/i.test(url)) return 'The URL must start with http:// or https://.'
  if (events.length === 0) return 'Pick at least one event to send.'
  // The scheme is matched as typed; `HTTPS://` is the same address.
  return { url: url.replace(/^https?/i, (scheme) => scheme.toLowerCase()), events }
}

export function Webhooks({ client, slug }: { client: OvasabiClient; slug: string }) {
  const [hooks, reload] = useLoad(() => client.webhooks.list(slug), [client, slug])
  const [message, setMessage] = useState<{ tone?: string; text: string }>()
  /**
   * A signing secret just made (add, rotate): the server never shows it again, so it stays on
   * screen until the operator says it is saved, whatever the status line says next.
   */
  const [secret, setSecret] = useState<{ url: string; value: string }>()
  const keep = (url: string, value: string) => setSecret({ url, value })
  const [open, setOpen] = useState<string>()
  const [editing, setEditing] = useState<string>()
  // Bumped after a call that adds deliveries (test, replay, enable): the open log reloads.
  const [sent, setSent] = useState(0)
  const work = useOneAtATime()

  async function add(e: Event) {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const input = endpointInput(form)
    if (typeof input === 'string') return setMessage({ tone: 'danger', text: input })
    const added = await act(
      () => client.webhooks.create(slug, input),
      (created) => {
        keep(created.webhook.url, created.secret)
        return `Added. Signing secret (shown once): ${created.secret}`
      },
    )
    if (added) form.reset()
  }

  async function save(e: Event, id: string) {
    e.preventDefault()
    const input = endpointInput(e.currentTarget as HTMLFormElement)
    if (typeof input === 'string') return setMessage({ tone: 'danger', text: input })
    if (await act(() => client.webhooks.update(slug, id, input), 'Saved.')) setEditing(undefined)
  }

  /**
   * Stops every rotated-out secret at once (the receiver has switched over, or one leaked).
   */
  async function endGrace(h: Webhook) {
    const n = h.previous_secrets.length
    if (
      !confirm(
        `Stop the ${n === 1 ? 'previous secret' : `${n} previous secrets`} of ${h.url} now? ` +
          'Only the current secret signs from then on: a receiver still checking with an old one refuses every message.',
      )
    )
      return
    await act(
      () => client.webhooks.endPreviousSecrets(slug, h.id),
      'Grace period ended: only the current secret signs now.',
    )
  }

  /**
   * A new signing secret, once the operator agrees: it is shown only once, and the old one keeps
   * signing beside it for the grace period. A stray click rotated at once.
   */
  async function rotate(h: Webhook) {
    if (work.busy()) return
    if (
      !confirm(
        `Rotate the signing secret of ${h.url}? The new secret is shown only once: store it where your ` +
          'receiver checks signatures. The current one keeps signing beside it for 24 h.',
      )
    )
      return
    await act(
      () => client.webhooks.rotate(slug, h.id),
      ({ secret }) => {
        keep(h.url, secret)
        return `New signing secret (shown once): ${secret}. The old one keeps signing beside it for 24 h.`
      },
    )
  }

  /**
   * Sends again what did not get through since `since`, and opens the log to show it going out.
   */
  async function recover(h: Webhook, since: Date) {
    const done = await act(
      () => client.webhooks.recover(slug, h.id, since),
      ({ recovered }) =>
        recovered === 0
          ? 'Nothing to recover: no failed or cancelled message since then.'
          : `${recovered === 1 ? '1 message' : `${recovered} messages`} queued again.`,
    )
    if (done) setOpen(h.id)
  }

  async function remove(h: Webhook) {
    if (!confirm(`Remove the webhook to ${h.url}? It stops receiving events, and its delivery log goes.`))
      return
    await act(() => client.webhooks.remove(slug, h.id), 'Removed.')
  }

  /**
   * Runs an admin call and says how it went (`done` may read its answer); true when it succeeded.
   * One at a time: a double click on "Add webhook" added the endpoint twice.
   */
  async function act<T>(fn: () => Promise<T>, done: string | ((result: T) => string)): Promise<boolean> {
    const succeeded = await work.run(async () => {
      try {
        const result = await fn()
        setMessage({ tone: 'ok', text: typeof done === 'string' ? done : done(result) })
        reload()
        setSent((n) => n + 1)
        return true
      } catch (err) {
        setMessage({ tone: 'danger', text: refusal(err) })
        // A 409 means the endpoint changed under the page (disabled by a 410 since it was read):
        // show it as it is now, so the buttons match.
        if (err instanceof OvasabiError && err.status === 409) reload()
        return false
      }
    })
    return succeeded === true
  }

  return (
    <div class="stack">
      {message && (
        <p
          class="notice"
          data-tone={message.tone}
          role={message.tone === 'ok' ? 'status' : 'alert'}
          data-testid="webhooks-message"
        >
          {message.text}
        </p>
      )}
      {secret && (
        <ShownOnce
          key={secret.value}
          testid="webhook-secret"
          value={secret.value}
          onDone={() => setSecret(undefined)}
        >
          Signing secret for <strong class="break">{secret.url}</strong>. It is shown only now: store it where
          your receiver checks the signatures.
        </ShownOnce>
      )}
      <LoadView value={hooks} what="webhooks">
        {(d) => (
          <>
            <form class="panel" onSubmit={add} data-testid="webhook-form">
              <h2>Add endpoint</h2>
              <EndpointFields idPrefix="wh" />
              <button class="btn btn-primary btn-sm" type="submit" disabled={work.pending}>
                Add webhook
              </button>
            </form>
            {d.webhooks.map((h: Webhook) => (
              <div class="panel" key={h.id}>
                <div class="toolbar">
                  <div class="grow">
                    <strong class="break">{h.url}</strong>
                    <div class="muted">{h.events.join(', ')}</div>
                  </div>
                  {!h.enabled && (
                    <span class="badge" data-tone="danger" title={h.disabled_reason ?? undefined}>
                      disabled{h.disabled_at && ` since ${localTime(h.disabled_at)}`}
                    </span>
                  )}
                  {h.enabled && <CircuitBadge hook={h} />}
                  {(!h.enabled || h.circuit !== 'closed') && (
                    <button
                      class="btn btn-soft btn-sm"
                      type="button"
                      onClick={() => act(() => client.webhooks.enable(slug, h.id), 'Enabled.')}
                    >
                      Enable
                    </button>
                  )}
                  <button
                    class="btn btn-soft btn-sm"
                    type="button"
                    onClick={() => act(() => client.webhooks.test(slug, h.id), 'Test event queued.')}
                  >
                    Send test
                  </button>
                  <button
                    class="btn btn-soft btn-sm"
                    type="button"
                    onClick={() => setEditing(editing === h.id ? undefined : h.id)}
                    aria-expanded={editing === h.id}
                  >
                    Edit
                  </button>
                  <button
                    class="btn btn-soft btn-sm"
                    type="button"
                    disabled={work.pending}
                    onClick={() => rotate(h)}
                  >
                    Rotate secret
                  </button>
                  <button
                    class="btn btn-soft btn-sm"
                    type="button"
                    onClick={() => setOpen(open === h.id ? undefined : h.id)}
                    aria-expanded={open === h.id}
                  >
                    Deliveries
                  </button>
                  <button class="btn btn-danger btn-sm" type="button" onClick={() => remove(h)}>
                    Remove
                  </button>
                </div>
                <RecoverMessages hook={h} pending={work.pending} onRecover={(since) => recover(h, since)} />
                {h.previous_secrets.length > 0 && (
                  <PreviousSecrets hook={h} pending={work.pending} onEnd={() => endGrace(h)} />
                )}
                {editing === h.id && (
                  <form class="stack" onSubmit={(e) => save(e, h.id)} data-testid="webhook-edit">
                    <EndpointFields idPrefix={`wh-${h.id}`} hook={h} />
                    <button class="btn btn-primary btn-sm" type="submit" disabled={work.pending}>
                      Save
                    </button>
                  </form>
                )}
                {open === h.id && (
                  <Deliveries client={client} slug={slug} hook={h} sent={sent} onReplay={act} />
                )}
              </div>
            ))}
          </>
        )}
      </LoadView>
    </div>
  )
}

/** What a refused call means for the operator; `WEBHOOK_DISABLED` says what to do about it. */
function refusal(err: unknown): string {
  if (err instanceof OvasabiError && err.code === 'WEBHOOK_DISABLED')
    return 'The endpoint is disabled: click Enable first, then try again.'
  return errorText(err)
}

/**
 * The rotated-out secrets still signing beside the current one, newest first: how many and until
 * when (never the secrets themselves, which are shown once, when made), and a way to stop them.
 */
function PreviousSecrets(props: { hook: Webhook; pending: boolean; onEnd: () => void }) {
  const previous = props.hook.previous_secrets
  return (
    <div class="toolbar" data-testid="webhook-previous-secrets">
      <div class="grow">
        <span data-testid="webhook-previous-count">
          {previous.length === 1
            ? 'A previous secret still signs'
            : `${previous.length} previous secrets still sign`}
        </span>{' '}
        beside the current one, until{' '}
        {previous.map((p, i) => (
          <span key={p.expires_at}>
            {i > 0 && (i === previous.length - 1 ? ' and ' : ', ')}
            <time class="nowrap" dateTime={p.expires_at} data-testid="webhook-previous-until">
              {localTime(p.expires_at)}
            </time>
          </span>
        ))}
        .
      </div>
      <button class="btn btn-soft btn-sm" type="button" disabled={props.pending} onClick={props.onEnd}>
        End grace period now
      </button>
    </div>
  )
}

/** Messages not settled yet: the log is read again until they are. */
const UNSETTLED = new Set(['pending', 'sending'])
const RECHECK_MS = 3000
/** Attempts per page of the log; older pages by `before` (the last id of the page above). */
const LOG_PAGE = 100

function Deliveries(props: {
  client: OvasabiClient
  slug: string
  hook: Webhook
  /** Changes after a test, replay or enable: what they queued is shown, not the log as first read. */
  sent: number
  onReplay: (fn: () => Promise<unknown>, done: string) => Promise<boolean>
}) {
  const { client, slug, hook } = props
  /**
   * The `before` of each page opened below the newest (empty: the newest page). Only the newest
   * 100 attempts were reachable: an endpoint failing for a while hid how it started.
   */
  const [cursors, setCursors] = useState<number[]>([])
  const before = cursors.at(-1)
  // A queued message has no delivery until its first attempt: the outbox says whether any waits.
  // Read before the log, not beside it: a message settles and logs its attempt in one statement,
  // so one settled by the time the outbox is read is in the log read after. Read side by side, the
  // log could miss an attempt the outbox then showed settled, and nothing read it again.
  const [log, reload] = useLoad(async () => {
    const m = await client.webhooks.messages(slug, hook.id, { limit: 20 })
    const d = await client.webhooks.deliveries(slug, hook.id, { limit: LOG_PAGE, before })
    return { deliveries: d.deliveries, waiting: m.messages.some((x) => UNSETTLED.has(x.status)) }
  }, [client, slug, hook.id, props.sent, before])
  const waiting = log.state === 'ready' && log.data.waiting
  useEffect(() => {
    if (!waiting) return
    const timer = setTimeout(reload, RECHECK_MS)
    return () => clearTimeout(timer)
  }, [log, waiting])
  const columns: Column<WebhookDelivery>[] = [
    { heading: 'Event', cell: (x) => <code>{x.event}</code> },
    { heading: 'Status', cellAttrs: (x) => ({ title: x.error ?? undefined }), cell: (x) => x.message_status },
    { heading: 'Attempt', class: 'num', cell: (x) => x.attempt },
    { heading: 'HTTP', class: 'num', cell: (x) => x.status_code ?? '–' },
    { heading: 'When', class: 'nowrap', cell: (x) => (x.created_at ? localTime(x.created_at) : '') },
    {
      heading: 'Replay',
      hideHeading: true,
      cell: (x) => (
        <button
          class="btn btn-soft btn-sm"
          type="button"
          onClick={() =>
            props.onReplay(() => client.webhooks.replay(slug, hook.id, x.message_id), 'Replay queued.')
          }
        >
          Replay
        </button>
      ),
    },
  ]
  return (
    <LoadView value={log} what="delivery log">
      {(d) => (
        <>
          <DataTable
            label="Delivery log"
            testid="webhook-deliveries"
            columns={columns}
            rows={d.deliveries}
            rowKey={(x) => x.id}
            empty={before === undefined ? 'No deliveries yet.' : 'No older attempts.'}
          />
          {(before !== undefined || d.deliveries.length === LOG_PAGE) && (
            <div class="toolbar" data-testid="webhook-deliveries-pages">
              <button
                class="btn btn-soft btn-sm"
                type="button"
                disabled={before === undefined}
                onClick={() => setCursors(cursors.slice(0, -1))}
              >
                Newer attempts
              </button>
              <button
                class="btn btn-soft btn-sm"
                type="button"
                disabled={d.deliveries.length < LOG_PAGE}
                onClick={() => setCursors([...cursors, d.deliveries.at(-1)!.id])}
              >
                Older attempts
              </button>
            </div>
          )}
        </>
      )}
    </LoadView>
  )
}
