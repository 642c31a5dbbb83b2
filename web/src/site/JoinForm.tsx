import { useState } from 'preact/hooks'
import type { OvasabiClient } from '../../../client/index.js'
import { type StoredUser, saveToken, saveUser } from '../shared/session.js'
import { hueFor } from './Cursors.js'
import { describedBy, Field } from './Field.js'
import { formValues, useSubmit } from './forms.js'
import { useI18n } from './i18n.js'

/** The version of the consent sentence shown next to the checkbox (`join.consent`), recorded with it. */
const CONSENT_VERSION = 'site-2025-01'

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean)
  return ((parts[0]?.[0] ?? '') + (parts[1]?.[0] ?? '')).toUpperCase() || '?'
}

export function JoinForm(props: {
  client: OvasabiClient
  campaign: string
  user?: StoredUser
  onJoined: (user: StoredUser) => void
}) {
  const { t, lang } = useI18n()
  const { state, run } = useSubmit()
  const [name, setName] = useState('')
  const ref = new URLSearchParams(location.search).get('ref') ?? ''

  async function submit(e: Event) {
    e.preventDefault()
    const v = formValues(e.currentTarget as HTMLFormElement)
    const res = await run(() =>
      props.client.users.register({
        name: v.name ?? '',
        email: v.email ?? '',
        ...(v.consent === 'on' ? { consent: { text_version: CONSENT_VERSION } } : {}),
        locale: lang,
        campaign: props.campaign,
        ...(v.referral_code ? { referral_code: v.referral_code } : {}),
      }),
    )
    if (!res) return
    saveToken(res.token)
    const user: StoredUser = {
      id: String(res.user.id),
      name: res.user.display_name,
      referral_code: res.user.referral_code ?? undefined,
    }
    saveUser(user)
    props.onJoined(user)
  }

  if (props.user) return <ReferralCard campaign={props.campaign} user={props.user} />
  const err = state.fieldErrors
  return (
    <form data-testid="join-form" class="card-form" onSubmit={submit} noValidate>
      <Field id="join-name" label={t('join.name')} error={err.name}>
        <input
          id="join-name"
          name="name"
          autocomplete="name"
          required
          maxLength={100}
          value={name}
          onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          aria-describedby={describedBy('join-name')}
        />
      </Field>
      <Field id="join-email" label={t('join.email')} error={err.email}>
        <input
          id="join-email"
          name="email"
          type="email"
          autocomplete="email"
          required
          aria-describedby={describedBy('join-email')}
        />
      </Field>
      <Field id="join-code" label={t('join.code')} error={err.referral_code ?? err.code}>
        {/* Uncontrolled: a `value` would put `?ref=` back over what the visitor typed on every
            re-render (each keystroke in the name, each failed submit). */}
        <input
          id="join-code"
          name="referral_code"
          defaultValue={ref}
          autocomplete="off"
          maxLength={32}
          aria-describedby={describedBy('join-code')}
        />
      </Field>
      <label class="check">
        <input type="checkbox" name="consent" /> <span>{t('join.consent')}</span>
      </label>
      <div class="preview" aria-live="polite">
        <span class="hint">{t('join.preview')}</span>
        <div class="preview-chip">
          <span class="avatar" style={{ '--hue': String(hueFor(name || 'guest')) }}>
            {initials(name)}
          </span>
          <span data-testid="name-preview" class="preview-name">
            {name || 'Ada Lovelace'}
          </span>
        </div>
      </div>
      {state.unavailable && <p class="notice">{t('unavailable')}</p>}
      {state.formError && (
        <p class="notice" data-tone="danger" role="alert">
          {state.formError}
        </p>
      )}
      <button class="btn btn-primary" type="submit" disabled={state.pending}>
        {state.pending ? '…' : t('join.submit')}
      </button>
    </form>
  )
}

export function ReferralCard({ campaign, user }: { campaign: string; user: StoredUser }) {
  const { t } = useI18n()
  const [copied, setCopied] = useState(false)
  const link =
    user.referral_link ??
    (user.referral_code
      ? `${location.origin}/c/${encodeURIComponent(campaign)}?ref=${encodeURIComponent(user.referral_code)}`
      : undefined)
  async function copy() {
    if (!link) return
    try {
      await navigator.clipboard.writeText(link)
    } catch {
      const input = document.getElementById('referral-link') as HTMLInputElement | null
      input?.select()
      document.execCommand?.('copy')
    }
    setCopied(true)
    setTimeout(() => setCopied(false), 2000)
  }
  return (
    <div class="referral" data-testid="referral-card">
      <p class="welcome">
        {t('join.welcome')}, <strong data-testid="user-name">{user.name}</strong>
      </p>
      {link ? (
        <>
          <label for="referral-link" class="label">
            {t('referral.title')}
          </label>
          <div class="copy-row">
            <input id="referral-link" readOnly value={link} onFocus={(e) => e.currentTarget.select()} />
            <button class="btn btn-soft" type="button" onClick={copy} data-testid="copy-referral">
              {copied ? t('referral.copied') : t('referral.copy')}
            </button>
          </div>
          <span class="sr-only" aria-live="polite">
            {copied ? t('referral.copied') : ''}
          </span>
        </>
      ) : (
        <p class="notice">{t('unavailable')}</p>
      )}
    </div>
  )
}
