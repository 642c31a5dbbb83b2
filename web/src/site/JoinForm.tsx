import { useEffect, useRef, useState } from 'preact/hooks'
import type { AuthResult, OvasabiClient } from '../../../client/index.js'
import { loadUser, type StoredUser, saveToken, saveUser, withMembership } from '../shared/session.js'
import { ConfirmAddress } from './ConfirmAddress.js'
import { hueFor } from './Cursors.js'
import { InputField } from './Field.js'
import { FormStatus } from './FormStatus.js'
import { formValues, useFocusFirstInvalid, useSubmit } from './forms.js'
import { useI18n } from './i18n.js'
import { type Departure, DepartureNotice, Participant } from './Participant.js'
import type { StringKey } from './strings.js'

/** The version of the consent sentence shown next to the checkbox (`join.consent`), recorded with it. */
const CONSENT_VERSION = 'site-2025-01'

const FIELDS = ['name', 'email', 'referral_code'] as const
type JoinField = (typeof FIELDS)[number]

/** Close to what the server accepts (`format: email`): something@something.tld, no spaces. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** What a visitor must fix before the form is worth sending. */
export function checkJoin(v: Record<string, string>): Partial<Record<JoinField, StringKey>> {
  const out: Partial<Record<JoinField, StringKey>> = {}
  if (!v.name) out.name = 'join.error.name.required'
  if (!v.email) out.email = 'join.error.email.required'
  else if (!EMAIL.test(v.email)) out.email = 'join.error.email.invalid'
  return out
}

/** The server's schema messages ("must NOT have fewer than 1 characters") are for developers. */
const SERVER_FIELD_MESSAGE: Record<JoinField, StringKey> = {
  name: 'join.error.name.invalid',
  email: 'join.error.email.invalid',
  referral_code: 'join.error.code.invalid',
}

/** Why a referral code given with the join was not counted, by the server's code. */
const REFERRAL_REASON: Record<string, StringKey> = {
  UNKNOWN_REFERRAL_CODE: 'join.referral.unknown',
  OWN_REFERRAL_CODE: 'join.referral.own',
  ALREADY_REFERRED: 'join.referral.already',
  DISPOSABLE_EMAIL: 'join.referral.disposable',
}

/** The reason to show when the join went through but its referral code did not count. */
export function referralProblem(referral: AuthResult['referral']): StringKey | undefined {
  if (referral?.status === 'refused') return REFERRAL_REASON[referral.code ?? ''] ?? 'join.referral.other'
  if (referral?.status === 'rejected') return 'join.referral.rejected'
  return undefined
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean)
  return ((parts[0]?.[0] ?? '') + (parts[1]?.[0] ?? '')).toUpperCase() || '?'
}

export function JoinForm(props: {
  client: OvasabiClient
  campaign: string
  user?: StoredUser
  onJoined: (user: StoredUser) => void
  /** The person signed out or erased themself: this browser no longer holds them. */
  onLeft: () => void
}) {
  const { t, lang } = useI18n()
  const { state, run } = useSubmit(props.client, FIELDS)
  /** Problems found before sending; while there are any, earlier answers' errors are stale. */
  const [local, setLocal] = useState<Partial<Record<JoinField, StringKey>>>({})
  const [name, setName] = useState('')
  /** Why the code given with the join was not applied (kept for the referral card). */
  const [refused, setRefused] = useState<StringKey>()
  const ref = new URLSearchParams(location.search).get('ref') ?? ''
  const form = useRef<HTMLFormElement>(null)
  const [attempt, setAttempt] = useState(0)
  useFocusFirstInvalid(form, attempt, state.pending)
  /** How the last person left, said above the form that comes back. */
  const [left, setLeft] = useState<Departure>()

  function leave(how: Departure) {
    setLeft(how)
    // The form comes back empty: on a shared computer the next visitor does not find the name.
    setName('')
    setRefused(undefined)
    props.onLeft()
  }

  async function submit(e: Event) {
    e.preventDefault()
    const v = formValues(e.currentTarget as HTMLFormElement)
    setAttempt((n) => n + 1)
    const problems = checkJoin(v)
    setLocal(problems)
    if (Object.keys(problems).length > 0) return
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
    setRefused(v.referral_code ? referralProblem(res.referral) : undefined)
    saveToken(res.token)
    // This campaign's membership, beside the ones this person joined before on other campaigns'
    // pages: each has its own referral code.
    const user = withMembership(loadUser(), props.campaign, {
      id: String(res.user.id),
      name: res.user.display_name,
      referral_code: res.user.referral_code ?? undefined,
      ...(res.email_verification === 'mailed' ? { confirming: res.user.email } : {}),
    })
    saveUser(user)
    props.onJoined(user)
  }

  if (props.user)
    return (
      <>
        <ReferralCard campaign={props.campaign} user={props.user} refused={refused} focus={attempt > 0} />
        {props.user.confirming && (
          <ConfirmAddress
            client={props.client}
            campaign={props.campaign}
            person={props.user.id}
            email={props.user.confirming}
            onConfirmed={props.onJoined}
          />
        )}
        <Participant client={props.client} user={props.user} onLeft={leave} />
      </>
    )
  // The server's field messages are replaced by ours, so no schema wording reaches the visitor.
  const hasLocal = Object.keys(local).length > 0
  const err: Partial<Record<JoinField, string>> = {}
  for (const f of FIELDS) {
    const key = hasLocal ? local[f] : f in state.fieldErrors ? SERVER_FIELD_MESSAGE[f] : undefined
    if (key) err[f] = t(key)
  }
  return (
    <form data-testid="join-form" class="card-form" onSubmit={submit} noValidate ref={form}>
      {left && <DepartureNotice how={left} />}
      <InputField
        id="join-name"
        name="name"
        label={t('join.name')}
        error={err.name}
        autocomplete="name"
        required
        maxLength={100}
        value={name}
        onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
      />
      <InputField
        id="join-email"
        name="email"
        type="email"
        label={t('join.email')}
        error={err.email}
        autocomplete="email"
        required
      />
      {/* Uncontrolled: a `value` would put `?ref=` back over what the visitor typed on every
          re-render (each keystroke in the name, each failed submit). */}
      <InputField
        id="join-code"
        name="referral_code"
        label={t('join.code')}
        error={err.referral_code}
        defaultValue={ref}
        autocomplete="off"
        maxLength={32}
      />
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
      <FormStatus
        state={hasLocal && !state.retryAt ? { ...state, formError: undefined } : state}
        submit={t('join.submit')}
      />
    </form>
  )
}

export function ReferralCard({
  campaign,
  user,
  refused,
  focus,
}: {
  campaign: string
  user: StoredUser
  /** Why the referral code given with this join was not applied, when it was not. */
  refused?: StringKey
  /**
   * Just joined (the form it replaces had focus): focus moves here, so keyboard and screen-reader
   * users land on the welcome instead of nowhere. Not on a page opened already joined.
   */
  focus?: boolean
}) {
  const { t } = useI18n()
  const [copied, setCopied] = useState(false)
  const card = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (focus) card.current?.focus()
  }, [focus])
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
    <div class="referral" data-testid="referral-card" tabIndex={-1} ref={card}>
      <p class="welcome">
        {t('join.welcome')}, <strong data-testid="user-name">{user.name}</strong>
      </p>
      {refused && (
        <p class="notice" data-tone="warn" role="status" data-testid="referral-refused">
          {t('join.referral.notApplied')} {t(refused)}
        </p>
      )}
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
