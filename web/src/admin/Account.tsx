import { useState } from 'preact/hooks'
import {
  type AuthResult,
  type Me,
  type MeUpdate,
  type OvasabiClient,
  OvasabiError,
} from '../../../client/index.js'
import { EmailCard } from './AccountEmail.js'
import { PasswordCard } from './AccountPassword.js'
import { SessionsCard } from './AccountSessions.js'
import { useLoad } from './api.js'
import { refusalText } from './LoginCard.js'
import { LoadView } from './ui.js'
import { useOneAtATime } from './one-at-a-time.js'

type Profile = NonNullable<Me['user']>
/** The profile fields a person changes here, as `PATCH /api/auth/me` names them. */
type ProfileField = 'display_name' | 'locale'

const KEY_NOTE =
  'This console is signed in with an API key, which has no account. Sign in with your email and ' +
  'password to change your name, language, address or password.'
const NOTHING = 'Nothing to save: your profile is as it was.'

/** Each profile field a validation failure names (`details`, path `/display_name`), with its first problem. */
function fieldProblems(err: unknown): Partial<Record<ProfileField, string>> {
  const found: Partial<Record<ProfileField, string>> = {}
  if (!(err instanceof OvasabiError) || !Array.isArray(err.details)) return found
  for (const d of err.details as unknown[]) {
    const { path, message } = (d ?? {}) as { path?: unknown; message?: unknown }
    if (typeof path !== 'string' || typeof message !== 'string') continue
    const field = path.split('/').pop()
    if ((field === 'display_name' || field === 'locale') && !found[field]) found[field] = message
  }
  return found
}

/** What a saved profile says, so the person sees what the server kept (the language as it stores it). */
const savedText = (p: Profile) =>
  `Saved: your name is “${p.display_name}”; your mails and notifications are in ${p.locale ?? 'English (no language set)'}.`

/**
 * "Your account": the signed-in person's own profile (name and language), address (confirmed, or
 * changed with a link mailed to the new one), password, and where they are signed in. An API key has no account, so the page says so instead. `onNewToken`
 * hears the token a password change or "Sign out everywhere else" answers with: every older token
 * of the person is refused from then on, this console's too, so it keeps working only on that one.
 */
export function Account(props: {
  client: OvasabiClient
  /** Signed in as a person (email and password), not with an API key. */
  person: boolean
  onNewToken: (auth: AuthResult) => void
}) {
  return (
    <section>
      <header class="content-head">
        <h1>Your account</h1>
      </header>
      {props.person ? (
        <AccountCards client={props.client} onNewToken={props.onNewToken} />
      ) : (
        <p class="notice" data-tone="warn" role="status" data-testid="account-key">
          {KEY_NOTE}
        </p>
      )}
    </section>
  )
}

function AccountCards({
  client,
  onNewToken,
}: {
  client: OvasabiClient
  onNewToken: (a: AuthResult) => void
}) {
  const [me] = useLoad(() => client.auth.me(), [client])
  // A password change ended every other session: the list is read again (a new one, by its key).
  const [reissued, setReissued] = useState(0)
  return (
    <LoadView value={me} what="your account">
      {(d) =>
        d.user ? (
          <>
            <ProfileCard client={client} user={d.user} />
            <EmailCard client={client} user={d.user} />
            <PasswordCard
              client={client}
              email={d.user.email}
              onNewToken={(auth) => {
                onNewToken(auth)
                setReissued((n) => n + 1)
              }}
            />
            {/* Signing out everywhere else keeps this session: the card stays, saying what it did. */}
            <SessionsCard key={reissued} client={client} onNewToken={onNewToken} />
          </>
        ) : (
          <p class="notice" data-tone="danger" role="alert">
            The server has no profile for this sign-in.
          </p>
        )
      }
    </LoadView>
  )
}

function ProfileCard({ client, user }: { client: OvasabiClient; user: Profile }) {
  const [saved, setSaved] = useState(user)
  const [name, setName] = useState(user.display_name)
  const [locale, setLocale] = useState(user.locale ?? '')
  const [problems, setProblems] = useState<Partial<Record<ProfileField, string>>>({})
  const [message, setMessage] = useState<{ tone: 'danger' | 'ok'; text: string }>()
  const work = useOneAtATime()

  const show = (p: Profile) => {
    setSaved(p)
    setName(p.display_name)
    setLocale(p.locale ?? '')
  }

  const save = async (e: Event) => {
    e.preventDefault()
    if (work.busy()) return
    // Only what differs from the saved profile is sent: an unchanged field is not rewritten.
    const change: MeUpdate = {}
    const typedName = name.trim()
    if (typedName !== saved.display_name) change.display_name = typedName
    const typedLocale = locale.trim() || null
    if (typedLocale !== saved.locale) change.locale = typedLocale
    setProblems({})
    if (Object.keys(change).length === 0) {
      show(saved)
      setMessage({ tone: 'ok', text: NOTHING })
      return
    }
    setMessage(undefined)
    await work.run(async () => {
      try {
        const me = await client.auth.updateMe(change)
        if (me.user) {
          show(me.user)
          setMessage({ tone: 'ok', text: savedText(me.user) })
        }
      } catch (err) {
        const found = fieldProblems(err)
        setProblems(found)
        // A refusal about the fields is said beside them; anything else here.
        if (Object.keys(found).length === 0) setMessage({ tone: 'danger', text: refusalText(err) })
      }
    })
  }

  return (
    <form
      class="panel form-narrow account"
      onSubmit={save}
      aria-labelledby="profile-title"
      data-testid="account-profile"
    >
      <h2 id="profile-title">Profile</h2>
      <div class="field" data-invalid={problems.display_name ? 'true' : 'false'}>
        <label for="account-name">Display name</label>
        <input
          id="account-name"
          name="display_name"
          required
          maxLength={100}
          dir="auto"
          autocomplete="nickname"
          value={name}
          onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          aria-invalid={problems.display_name ? 'true' : undefined}
          aria-describedby="account-name-hint account-name-error"
        />
        <span class="hint" id="account-name-hint">
          Shown on leaderboards and in milestone messages.
        </span>
        <span
          class="field-error"
          id="account-name-error"
          role={problems.display_name ? 'alert' : undefined}
          data-testid="account-name-error"
        >
          {problems.display_name ?? ''}
        </span>
      </div>
      <div class="field" data-invalid={problems.locale ? 'true' : 'false'}>
        <label for="account-locale">Language</label>
        <input
          id="account-locale"
          name="locale"
          maxLength={35}
          placeholder="en"
          autocomplete="language"
          spellcheck={false}
          value={locale}
          onInput={(e) => setLocale((e.currentTarget as HTMLInputElement).value)}
          aria-invalid={problems.locale ? 'true' : undefined}
          aria-describedby="account-locale-hint account-locale-error"
        />
        <span class="hint" id="account-locale-hint">
          Of your mails and notifications: a language tag such as en, pt-BR or zh-Hant. Empty: English.
        </span>
        <span
          class="field-error"
          id="account-locale-error"
          role={problems.locale ? 'alert' : undefined}
          data-testid="account-locale-error"
        >
          {problems.locale ?? ''}
        </span>
      </div>
      {message && (
        <p
          class="notice"
          data-tone={message.tone === 'danger' ? 'danger' : undefined}
          role={message.tone === 'danger' ? 'alert' : 'status'}
          data-testid="account-profile-message"
        >
          {message.text}
        </p>
      )}
      <button class="btn btn-primary" type="submit" disabled={work.pending}>
        Save
      </button>
    </form>
  )
}
