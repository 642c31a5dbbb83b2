import { useState } from 'preact/hooks'
import type { OvasabiClient, Webhook, WebhookInput } from '../../../client/index.js'
import { errorText, useLoad } from './api.js'
import { LoadView } from './ui.js'

/** The events a CRM endpoint can subscribe to (`WEBHOOK_EVENTS` in the notification module). */
const EVENTS: WebhookInput['events'] = ['lead.created', 'lead.updated', '*']

export function Webhooks({ client, slug }: { client: OvasabiClient; slug: string }) {
  const [hooks, reload] = useLoad(() => client.webhooks.list(slug), [client, slug])
  const [message, setMessage] = useState<{ tone?: string; text: string }>()
  const [open, setOpen] = useState<string>()

  async function add(e: Event) {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const f = new FormData(form)
    try {
      const created = await client.webhooks.create(slug, {
        url: String(f.get('url')),
        events: EVENTS.filter((ev) => f.get(ev) === 'on'),
      })
      setMessage({ tone: 'ok', text: `Added. Signing secret (shown once): ${created.secret}` })
      form.reset()
      reload()
    } catch (err) {
      setMessage({ tone: 'danger', text: errorText(err) })
    }
  }

  async function act(fn: () => Promise<unknown>, done: string) {
    try {
      await fn()
      setMessage({ tone: 'ok', text: done })
      reload()
    } catch (err) {
      setMessage({ tone: 'danger', text: errorText(err) })
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
              <div class="field">
                <label for="wh-url">URL</label>
                <input
                  id="wh-url"
                  name="url"
                  type="url"
                  required
                  placeholder="https://crm.example.com/hooks/ovasabi"
                />
              </div>
              <fieldset class="group">
                <legend>Events</legend>
                <div class="toggles">
                  {EVENTS.map((ev) => (
                    <label key={ev} class="check">
                      <input type="checkbox" name={ev} defaultChecked={ev.startsWith('lead.')} />{' '}
                      <code>{ev}</code>
                    </label>
                  ))}
                </div>
              </fieldset>
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
  onReplay: (fn: () => Promise<unknown>, done: string) => void
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
