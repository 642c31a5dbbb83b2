import { useState } from 'preact/hooks'
import type { OvasabiClient, Webhook, WebhookInput } from '../../../client/index.js'
import { errorText, useLoad } from './api.js'
import { LoadView } from './ui.js'

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
          defaultValue={hook?.url}
          placeholder="https://crm.example.com/hooks/ovasabi"
        />
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

function endpointInput(form: HTMLFormElement) {
  const f = new FormData(form)
  return { url: String(f.get('url')), events: EVENTS.filter((ev) => f.get(ev) === 'on') }
}

export function Webhooks({ client, slug }: { client: OvasabiClient; slug: string }) {
  const [hooks, reload] = useLoad(() => client.webhooks.list(slug), [client, slug])
  const [message, setMessage] = useState<{ tone?: string; text: string }>()
  const [open, setOpen] = useState<string>()
  const [editing, setEditing] = useState<string>()

  async function add(e: Event) {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const added = await act(
      () => client.webhooks.create(slug, endpointInput(form)),
      (created) => `Added. Signing secret (shown once): ${created.secret}`,
    )
    if (added) form.reset()
  }

  async function save(e: Event, id: string) {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    if (await act(() => client.webhooks.update(slug, id, endpointInput(form)), 'Saved.'))
      setEditing(undefined)
  }

  /** Runs an admin call and says how it went (`done` may read its answer); true when it succeeded. */
  async function act<T>(fn: () => Promise<T>, done: string | ((result: T) => string)): Promise<boolean> {
    try {
      const result = await fn()
      setMessage({ tone: 'ok', text: typeof done === 'string' ? done : done(result) })
      reload()
      return true
    } catch (err) {
      setMessage({ tone: 'danger', text: errorText(err) })
      return false
    }
  }

  return (
    <div class="stack">
      {message && (
        <p class="notice" data-tone={message.tone} role="status">
          {message.text}
        </p>
      )}
      <LoadView value={hooks} what="webhooks">
        {(d) => (
          <>
            <form class="panel" onSubmit={add} data-testid="webhook-form">
              <h2>Add endpoint</h2>
              <EndpointFields idPrefix="wh" />
              <button class="btn btn-primary btn-sm" type="submit">
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
                      disabled
                    </span>
                  )}
                  {h.enabled && h.circuit === 'open' && (
                    <span class="badge" data-tone="warn">
                      paused after failures
                    </span>
                  )}
                  {(!h.enabled || h.circuit === 'open') && (
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
                    onClick={() =>
                      act(
                        () => client.webhooks.rotate(slug, h.id),
                        ({ secret }) =>
                          `New signing secret (shown once): ${secret}. The old one keeps signing beside it for 24 h.`,
                      )
                    }
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
                  <button
                    class="btn btn-danger btn-sm"
                    type="button"
                    onClick={() => act(() => client.webhooks.remove(slug, h.id), 'Removed.')}
                  >
                    Remove
                  </button>
                </div>
                {editing === h.id && (
                  <form class="stack" onSubmit={(e) => save(e, h.id)} data-testid="webhook-edit">
                    <EndpointFields idPrefix={`wh-${h.id}`} hook={h} />
                    <button class="btn btn-primary btn-sm" type="submit">
                      Save
                    </button>
                  </form>
                )}
                {open === h.id && <Deliveries client={client} slug={slug} hook={h} onReplay={act} />}
              </div>
            ))}
          </>
        )}
      </LoadView>
    </div>
  )
}

function Deliveries(props: {
  client: OvasabiClient
  slug: string
  hook: Webhook
  onReplay: (fn: () => Promise<unknown>, done: string) => Promise<boolean>
}) {
  const [log] = useLoad(() => props.client.webhooks.deliveries(props.slug, props.hook.id), [props.hook.id])
  return (
    <LoadView value={log} what="delivery log">
      {(d) =>
        d.deliveries.length === 0 ? (
          <p class="muted">No deliveries yet.</p>
        ) : (
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempt</th>
                <th scope="col">HTTP</th>
                <th scope="col">When</th>
                <th scope="col" />
              </tr>
            </thead>
            <tbody>
              {d.deliveries.map((x) => (
                <tr key={x.id}>
                  <td>
                    <code>{x.event}</code>
                  </td>
                  <td title={x.error ?? undefined}>{x.message_status}</td>
                  <td class="num">{x.attempt}</td>
                  <td class="num">{x.status_code ?? '–'}</td>
                  <td class="nowrap">{x.created_at ? new Date(x.created_at).toLocaleString() : ''}</td>
                  <td>
                    <button
                      class="btn btn-soft btn-sm"
                      type="button"
                      onClick={() =>
                        props.onReplay(
                          () => props.client.webhooks.replay(props.slug, props.hook.id, x.message_id),
                          'Replay queued.',
                        )
                      }
                    >
                      Replay
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </LoadView>
  )
}
