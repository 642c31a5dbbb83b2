import { useState } from 'preact/hooks'
import type { OvasabiClient, RealtimeConnection } from '../../../client/index.js'
import { describedBy, Field } from './Field.js'
import { formValues, useSubmit } from './forms.js'
import { useI18n } from './i18n.js'
import type { StringKey } from './strings.js'
import { useEffect } from 'preact/hooks'

const STEPS = ['new', 'contacted', 'qualified', 'won'] as const

/** Reads a lead status change from a `notification` or `campaign_event` frame, whatever its nesting. */
function leadUpdate(frame: Record<string, any>): { id?: string; status?: string } | undefined {
  const p = frame.payload && typeof frame.payload === 'object' ? frame.payload : frame
  const lead = p.lead && typeof p.lead === 'object' ? p.lead : p
  const status = lead.status
  if (typeof status !== 'string') return undefined
  const id = lead.lead_id ?? lead.id
  return { id: id === undefined ? undefined : String(id), status }
}

export function QuoteForm(props: {
  client: OvasabiClient
  campaign: string
  connection: RealtimeConnection | null
}) {
  const { t, lang } = useI18n()
  const { state, run } = useSubmit()
  const [lead, setLead] = useState<{ id?: string; status: string; name: string } | null>(null)

  // Live status: the server notifies the submitter's sockets when an editor moves the lead.
  useEffect(() => {
    const conn = props.connection
    if (!conn || !lead) return
    const apply = (f: Record<string, any>) => {
      const u = leadUpdate(f)
      if (u?.status && (!u.id || !lead.id || u.id === lead.id))
        setLead((l) => (l ? { ...l, status: u.status! } : l))
    }
    const offs = [
      conn.on('notification', apply),
      conn.on('campaign_event', (f) => f.event.startsWith('lead.') && apply(f)),
    ]
    return () => {
      for (const off of offs) off()
    }
  }, [props.connection, lead?.id])

  async function submit(e: Event) {
    e.preventDefault()
    const v = formValues(e.currentTarget as HTMLFormElement)
    const body = {
      name: v.name ?? '',
      email: v.email ?? '',
      campaign: props.campaign,
      locale: lang,
      ...(v.company ? { company: v.company } : {}),
      ...(v.budget ? { budget: v.budget } : {}),
      ...(v.message ? { message: v.message } : {}),
      ...(v.website ? { website: v.website } : {}),
    }
    const res = await run(() => props.client.quotes.submit(body))
    if (!res) return
    setLead({ id: res.result.lead_id, status: res.result.status, name: body.name })
  }

  if (lead) {
    const current = STEPS.indexOf(lead.status as (typeof STEPS)[number])
    return (
      <div class="quote-status" data-testid="quote-status" aria-live="polite">
        <p class="hint">{t('quote.status')}</p>
        <p class="status-line">
          <span class="badge" data-tone={lead.status === 'lost' ? 'danger' : 'ok'} data-status={lead.status}>
            {lead.status}
          </span>{' '}
          {t(`quote.status.${lead.status}` as StringKey) ?? lead.status}
        </p>
        <ol class="steps">
          {STEPS.map((s, i) => (
            <li key={s} data-done={i <= current ? 'true' : 'false'}>
              {s}
            </li>
          ))}
        </ol>
      </div>
    )
  }

  const err = state.fieldErrors
  return (
    <form data-testid="quote-form" class="card-form" onSubmit={submit} noValidate>
      <div class="row">
        <Field id="quote-name" label={t('quote.name')} error={err.name}>
          <input
            id="quote-name"
            name="name"
            autocomplete="name"
            required
            aria-describedby={describedBy('quote-name')}
          />
        </Field>
        <Field id="quote-email" label={t('quote.email')} error={err.email}>
          <input
            id="quote-email"
            name="email"
            type="email"
            autocomplete="email"
            required
            aria-describedby={describedBy('quote-email')}
          />
        </Field>
      </div>
      <div class="row">
        <Field id="quote-company" label={t('quote.company')} error={err.company}>
          <input
            id="quote-company"
            name="company"
            autocomplete="organization"
            aria-describedby={describedBy('quote-company')}
          />
        </Field>
        <Field id="quote-budget" label={t('quote.budget')} error={err.budget}>
          <select id="quote-budget" name="budget" aria-describedby={describedBy('quote-budget')}>
            <option value="">—</option>
            <option value="<5k">&lt; $5k</option>
            <option value="5k-20k">$5k – $20k</option>
            <option value="20k-50k">$20k – $50k</option>
            <option value=">50k">&gt; $50k</option>
          </select>
        </Field>
      </div>
      <Field id="quote-message" label={t('quote.message')} error={err.message}>
        <textarea
          id="quote-message"
          name="message"
          maxLength={5000}
          aria-describedby={describedBy('quote-message')}
        />
      </Field>
      {/* Honeypot: hidden from people and assistive tech; bots fill it and get a silent success. */}
      <div class="hp" aria-hidden="true">
        <label for="quote-website">Website</label>
        <input id="quote-website" name="website" tabIndex={-1} autocomplete="off" />
      </div>
      {state.unavailable && <p class="notice">{t('unavailable')}</p>}
      {state.formError && (
        <p class="notice" data-tone="danger" role="alert">
          {state.formError}
        </p>
      )}
      <button class="btn btn-primary" type="submit" disabled={state.pending}>
        {state.pending ? '…' : t('quote.submit')}
      </button>
    </form>
  )
}
