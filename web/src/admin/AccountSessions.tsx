import { useState } from 'preact/hooks'
import type { OvasabiClient, SignIn } from '../../../client/index.js'
import { useLoad } from './api.js'
import { browserName } from './browser-name.js'
import { refusalText } from './LoginCard.js'
import { type Column, DataTable, LoadView, localTime } from './ui.js'

/**
 * "Your account"'s list of where the person is signed in: each session a token of theirs may
 * still work for (the browser, guessed from its User-Agent, the network, when signed in and last
 * active), this console's marked. Ending another is a logout there; this one ends with Sign out.
 */
export function SessionsCard({ client }: { client: OvasabiClient }) {
  const [sessions, reload] = useLoad(() => client.auth.sessions(), [client])
  const [ended, setEnded] = useState<ReadonlySet<string>>(new Set())
  const [error, setError] = useState<string>()

  const end = async (s: SignIn) => {
    setError(undefined)
    try {
      await client.auth.endSession(s.session_id)
      setEnded((was) => new Set([...was, s.session_id]))
    } catch (err) {
      setError(refusalText(err))
      reload()
    }
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
      <LoadView value={sessions} what="where you are signed in">
        {(d) => (
          <DataTable
            label="Where you are signed in"
            testid="account-sessions-table"
            columns={columns}
            rows={d.sessions.filter((s) => !ended.has(s.session_id))}
            rowKey={(s) => s.session_id}
            rowAttrs={(s) => ({ 'data-session-id': s.session_id, 'data-current': String(s.current) })}
            empty="No other sessions."
          />
        )}
      </LoadView>
    </section>
  )
}
