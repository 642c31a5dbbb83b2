import { useEffect, useRef, useState } from 'preact/hooks'
import type { OvasabiClient, RealtimeConnection } from '../../../client/index.js'
import { describedBy, Field, InputField } from './Field.js'
import { FormStatus } from './FormStatus.js'
import { formValues, useFocusFirstInvalid, useSubmit } from './forms.js'
import { checkJoin } from './JoinForm.js'
import { useI18n } from './i18n.js'
import type { StringKey } from './strings.js'

const FIELDS = ['name', 'email', 'company', 'budget', 'message'] as const
type QuoteField = (typeof FIELDS)[number]

/**
 * The server's field messages are written for developers ("name must be one line of 1 to 200
 * characters…"): the visitor reads ours, next to the field.
 */
const SERVER_FIELD_MESSAGE: Record<QuoteField, StringKey> = {
  name: 'quote.error.name.invalid',
  email: 'join.error.email.invalid',
  company: 'quote.error.company.invalid',
  budget: 'quote.error.budget.invalid',
  message: 'quote.error.message.invalid',
}

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
  /** `resync_required` frames so far (see `useLive`): each one reads the lead's status again. */
  resyncs?: number
}) {
  const { t, lang } = useI18n()
  const { state, run } = useSubmit(props.client, FIELDS)
  /** Name and email problems found before sending (the same checks as the join form's). */
  const [local, setLocal] = useState<Partial<Record<QuoteField, StringKey>>>({})
  const form = useRef<HTMLFormElement>(null)
  const [attempt, setAttempt] = useState(0)
  useFocusFirstInvalid(form, attempt, state.pending)
  const [lead, setLead] = useState<{ id?: string; status: string; name: string } | null>(null)
  /** Status notifications applied so far, so a REST answer never undoes a newer one. */
  const heard = useRef(0)

  // Live status: the server notifies the submitter's sockets when an editor moves the lead.
  useEffect(() => {
    const conn = props.connection
    if (!conn || !lead) return
    const apply = (f: Record<string, any>) => {
      const u = leadUpdate(f)
      if (u?.status && (!u.id || !lead.id || u.id === lead.id)) {
        heard.current++
        setLead((l) => (l ? { ...l, status: u.status! } : l))
      }
    }
    const offs = [
      conn.on('notification', apply),
      conn.on('campaign_event', (f) => f.event.startsWith('lead.') && apply(f)),
    ]
    return () => {
      for (const off of offs) off()
    }
  }, [props.connection, lead?.id])

  // After `resync_required` the notifications that were lost are not sent again: the submitter
  // reads where the lead stands over REST. Only then: the socket tells of every change otherwise.
  const leadId = lead?.id
  const resyncs = props.resyncs ?? 0
  useEffect(() => {
    if (resyncs === 0 || !leadId) return
    let current = true
    const before = heard.current
    props.client.quotes.get(leadId).then(
      (own) => {
        if (current && heard.current === before)
          setLead((l) => (l?.id === leadId ? { ...l, status: own.status } : l))
      },
      () => {
        // Unreadable now (offline, or a honeypot's lead that was never stored): keep what was heard.
      },
    )
    return () => {
      current = false
    }
  }, [props.client, leadId, resyncs])

  async function submit(e: Event) {
    e.preventDefault()
    const v = formValues(e.currentTarget as HTMLFormElement)
    setAttempt((n) => n + 1)
    const problems = checkJoin(v)
    setLocal(problems)
    if (Object.keys(problems).length > 0) return
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

  // The form gives way to the status: focus follows, so keyboard and screen-reader users are not
  // left on a button that is gone (and hear the confirmation).
  const status = useRef<HTMLDivElement>(null)
  const sent = lead !== null
  useEffect(() => {
    if (sent) status.current?.focus()
  }, [sent])

  if (lead) {
    const current = STEPS.indexOf(lead.status as (typeof STEPS)[number])
    return (
      <div class="quote-status" data-testid="quote-status" aria-live="polite" tabIndex={-1} ref={status}>
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

  const hasLocal = Object.keys(local).length > 0
  const err: Partial<Record<QuoteField, string>> = {}
  for (const f of FIELDS) {
    const key = hasLocal ? local[f] : f in state.fieldErrors ? SERVER_FIELD_MESSAGE[f] : undefined
    if (key) err[f] = t(key)
  }
  const invalid = (f: QuoteField) => (err[f] ? 'true' : undefined)
  return (
    <form data-testid="quote-form" class="card-form" onSubmit={submit} noValidate ref={form}>
      <div class="row">
        <InputField
          id="quote-name"
          name="name"
          label={t('quote.name')}
          error={err.name}
          autocomplete="name"
          required
          maxLength={200}
        />
        <InputField
          id="quote-email"
          name="email"
          type="email"
          label={t('quote.email')}
          error={err.email}
          autocomplete="email"
          required
        />
      </div>
      <div class="row">
        <InputField
          id="quote-company"
          name="company"
          label={t('quote.company')}
          error={err.company}
          autocomplete="organization"
          maxLength={200}
        />
        <Field id="quote-budget" label={t('quote.budget')} error={err.budget}>
          <select
            id="quote-budget"
            name="budget"
            aria-describedby={describedBy('quote-budget')}
            aria-invalid={invalid('budget')}
          >
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
          aria-invalid={invalid('message')}
        />
      </Field>
      {/* Honeypot: hidden from people and assistive tech; bots fill it and get a silent success. */}
      <div class="hp" aria-hidden="true">
        <label for="quote-website">Website</label>
        <input id="quote-website" name="website" tabIndex={-1} autocomplete="off" />
      </div>
      <FormStatus
        state={hasLocal && !state.retryAt ? { ...state, formError: undefined } : state}
        submit={t('quote.submit')}
      />
    </form>
  )
}
