import { useState } from 'preact/hooks'
import type { AuthResult, OvasabiClient, SignIn } from '../../../client/index.js'
import { useLoad } from './api.js'
import { browserName } from './browser-name.js'
import { refusalText } from './LoginCard.js'
import { useOneAtATime } from './one-at-a-time.js'
import { type Column, DataTable, LoadView, localTime } from './ui.js'

/** What "Sign out everywhere else" did, counted from the list as it stood when pressed. */
const endedOthersText = (n: number) =>
  `Signed out of ${n} other session${n === 1 ? '' : 's'}; only this console is still signed in.`

/**
 * "Your account"'s list of where the person is signed in: each session a token of theirs may
 * still work for (the browser, guessed from its User-Agent, the network, when signed in and last
 * active), this console's marked. Ending another is a logout there; this one ends with Sign out.
 * "Sign out everywhere else" cuts off every older token of the person, this console's too, so
 * `onNewToken` hears the token it answers with (the same session's), the console's from then on.
 */
export function SessionsCard({
  client,
  onNewToken,
}: {
  client: OvasabiClient
  onNewToken: (auth: AuthResult) => void
}) {
  const [sessions, reload] = useLoad(() => client.auth.sessions(), [client])
  const [ended, setEnded] = useState<ReadonlySet<string>>(new Set())
  const [error, setError] = useState<string>()
  const [endedOthers, setEndedOthers] = useState<number>()
  const work = useOneAtATime()
  const listed =
    sessions.state === 'ready' ? sessions.data.sessions.filter((s) => !ended.has(s.session_id)) : []
  const others = listed.filter((s) => !s.current)

  const end = async (s: SignIn) => {
    setError(undefined)
    setEndedOthers(undefined)
    try {
      await client.auth.endSession(s.session_id)
      setEnded((was) => new Set([...was, s.session_id]))
    } catch (err) {
      setError(refusalText(err))
      reload()
    }
  }

  const endOthers = async () => {
    if (work.busy()) return
    setError(undefined)
    setEndedOthers(undefined)
    await work.run(async () => {
      try {
        const auth = await client.auth.logoutOthers()
        // This console's token is cut off with the rest: it goes on with the answer's.
        onNewToken(auth)
        // Gone from the list at once; the server's list, read again, should hold this console alone.
        setEnded((was) => new Set([...was, ...others.map((s) => s.session_id)]))
        setEndedOthers(others.length)
        reload()
      } catch (err) {
        setError(refusalText(err))
      }
    })
  }

  const columns: Column<SignIn>[] = [
    {
      heading: 'Browser',
      cell: (s) => (
        <span title={s.user_agent ?? undefined}>
          {browserName(s.user_agent)}{' '}
          {s.current && (
            <span class="badge" data-tone="ok">
              this console
            </span>
          )}
        </span>
      ),
    },
    { heading: 'Network', class: 'nowrap', cell: (s) => s.network ?? 'unknown' },
    { heading: 'Signed in', class: 'nowrap', cell: (s) => localTime(s.signed_in_at) },
    { heading: 'Last active', class: 'nowrap', cell: (s) => localTime(s.last_active_at) },
    {
      heading: 'Actions',
      hideHeading: true,
      cell: (s) =>
        !s.current && (
          <button class="btn btn-soft btn-sm" type="button" onClick={() => void end(s)}>
            Sign out
          </button>
        ),
    },
  ]

  return (
    <section class="panel account" aria-labelledby="sessions-title" data-testid="account-sessions">
      <h2 id="sessions-title">Where you are signed in</h2>
      <p class="muted">
        Signing out a browser here ends its session at once. Changing your password signs out all but this
        one.
      </p>
      {error && (
        <p class="notice" data-tone="danger" role="alert" data-testid="account-sessions-error">
          {error}
        </p>
      )}
      {endedOthers !== undefined && (
        <p class="notice" data-tone="ok" role="status" data-testid="account-sessions-done">
          {endedOthersText(endedOthers)}
        </p>
      )}
      <LoadView value={sessions} what="where you are signed in">
        {() => (
          <DataTable
            label="Where you are signed in"
            testid="account-sessions-table"
            columns={columns}
            rows={listed}
            rowKey={(s) => s.session_id}
            rowAttrs={(s) => ({ 'data-session-id': s.session_id, 'data-current': String(s.current) })}
            empty="No other sessions."
          />
        )}
      </LoadView>
      {others.length > 0 && (
        <p>
          <button class="btn btn-soft" type="button" disabled={work.pending} onClick={() => void endOthers()}>
            Sign out everywhere else
          </button>
        </p>
      )}
    </section>
  )
}
