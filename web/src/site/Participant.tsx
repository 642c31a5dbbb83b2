import { useEffect, useRef, useState } from 'preact/hooks'
import type { OvasabiClient } from '../../../client/index.js'
import { forgetPerson, type SignOutOutcome, signOut, type StoredUser } from '../shared/session.js'
import { EraseData } from './EraseData.js'
import { type Refusals, useSubmit } from './forms.js'
import { useI18n } from './i18n.js'
import type { StringKey } from './strings.js'

/** How the person left this browser: signed out (`ended`, or only `forgotten` here), or erased. */
export type Departure = SignOutOutcome | 'erased'

/**
 * An erasure the server refuses says why in words for developers. 401: the token no longer works
 * (erased or logged out elsewhere); 403: the session is a guest's (the join's token expired);
 * 404: no such person. Either way this browser cannot erase them, and the page says what to do.
 */
const ERASE_REFUSALS: Refusals = {
  401: 'account.erase.refused',
  403: 'account.erase.refused',
  404: 'account.erase.refused',
}

/**
 * Under the welcome: who this browser is signed in as, "Not you? Sign out" for a shared computer,
 * and "Delete my data" (the right to erasure). Either leaves the page a guest's, the person
 * forgotten here (see `signOut`, `forgetPerson`); `onLeft` says how. One thing at a time: while
 * either is on its way every button here is disabled.
 */
export function Participant(props: {
  client: OvasabiClient
  user: StoredUser
  onLeft: (how: Departure) => void
}) {
  const { t } = useI18n()
  const [signingOut, setSigningOut] = useState(false)
  const erasure = useSubmit(props.client, undefined, ERASE_REFUSALS)

  async function leave() {
    setSigningOut(true)
    props.onLeft(await signOut(props.client))
  }

  async function erase() {
    // Forgetting is part of the erasure: the buttons stay disabled until the page is a guest's.
    const erased = await erasure.run(async () => {
      await props.client.users.erase(props.user.id)
      await forgetPerson(props.client)
      return true
    })
    if (erased) props.onLeft('erased')
  }

  return (
    // No box of its own (`.gate`): a disabled fieldset disables every button in it at once.
    <fieldset class="gate" disabled={signingOut || erasure.state.pending}>
      <div class="participant" data-testid="participant">
        <p class="signed-in">
          <span data-testid="signed-in-as">{t('account.signedInAs', { name: props.user.name })}</span>{' '}
          <span>{t('account.notYou')}</span>{' '}
          <button class="btn btn-ghost btn-sm" type="button" onClick={leave} data-testid="sign-out">
            {signingOut ? '…' : t('account.signOut')}
          </button>
        </p>
        <EraseData state={erasure.state} onConfirm={erase} onCancel={erasure.reset} />
      </div>
    </fieldset>
  )
}

const SAID: Record<Departure, StringKey> = {
  ended: 'account.signedOut',
  forgotten: 'account.signedOutHere',
  erased: 'account.erased',
}

/**
 * Above the join form that came back: the person signed out or was erased. Focus moves here (the
 * button pressed is gone with the welcome), so a screen reader reads it and Tab goes on into the
 * form.
 */
export function DepartureNotice({ how }: { how: Departure }) {
  const { t } = useI18n()
  const said = useRef<HTMLParagraphElement>(null)
  useEffect(() => said.current?.focus(), [how])
  return (
    <p
      class="notice"
      ref={said}
      tabIndex={-1}
      role="status"
      data-testid="departure-notice"
      data-how={how}
      data-tone={how === 'forgotten' ? 'warn' : 'ok'}
    >
      {t(SAID[how])}
    </p>
  )
}
