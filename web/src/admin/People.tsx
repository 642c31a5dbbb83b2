import { useState } from 'preact/hooks'
import type { OvasabiClient, Person, PersonRole } from '../../../client/index.js'
import { errorText, useLoad } from './api.js'
import { type Column, DataTable, FilterSelect, LoadView, localTime, SearchField } from './ui.js'

/** People per page of the list. */
const PER_PAGE = 50
const ROLES: readonly PersonRole[] = ['participant', 'editor', 'admin']

/** Why the server refused a role, in the words of the person granting it. */
function refusalText(err: unknown, person: Person): string {
  const code = (err as { code?: string }).code
  const who = person.display_name || person.email || person.id
  if (code === 'PASSWORD_REQUIRED')
    return `${who} has no password, so cannot sign in to the console: they need to set one (log in with a password once) before getting a console role.`
  if (code === 'LAST_ADMIN')
    return 'You are the last admin: make someone else an admin before giving up your own role.'
  return errorText(err)
}

/**
 * Who may use the console (admin): people found by role or by text in their address or name,
 * each with the role they hold and a way to change it. A change is saved at once; lowering a role
 * also signs the person out everywhere (the server cuts off their tokens), which the page says.
 */
export function People({ client, self }: { client: OvasabiClient; self?: string }) {
  const [role, setRole] = useState<PersonRole | ''>('')
  const [q, setQ] = useState('')
  // The ids that start each page read so far: `before` for page n is cursors[n - 1].
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined])
  const page = cursors.length
  const before = cursors[page - 1]
  const [people, reload] = useLoad(
    () => client.people.list({ role: role || undefined, q: q || undefined, per_page: PER_PAGE, before }),
    [client, role, q, before],
  )
  const [message, setMessage] = useState<{ tone: 'danger' | 'ok'; text: string }>()
  const [saving, setSaving] = useState<string>()
  const firstPage = () => setCursors([undefined])

  const change = async (person: Person, to: PersonRole) => {
    if (to === person.role) return
    setSaving(person.id)
    setMessage(undefined)
    try {
      const changed = await client.people.setRole(person.id, to)
      const who = person.display_name || person.email || person.id
      setMessage({
        tone: 'ok',
        text: changed.tokens_valid_after
          ? `${who} is now ${changed.role}; they were signed out everywhere and sign in again with the new role.`
          : `${who} is now ${changed.role}; it applies from their next sign-in.`,
      })
    } catch (err) {
      setMessage({ tone: 'danger', text: refusalText(err, person) })
    } finally {
      setSaving(undefined)
      reload()
    }
  }

  const columns: Column<Person>[] = [
    {
      heading: 'Name',
      cell: (p) => (
        <>
          <span class="clip" dir="auto" title={p.display_name}>
            {p.display_name}
          </span>
          {p.id === self && <span class="muted"> (you)</span>}
        </>
      ),
    },
    {
      heading: 'Email',
      class: 'email',
      cell: (p) =>
        // No address, nothing to confirm: the cell stays empty rather than saying "unverified".
        p.email !== null && (
          <>
            {p.email}{' '}
            {p.email_verified_at ? (
              <span
                class="badge"
                data-tone="ok"
                title={`Confirmed ${localTime(p.email_verified_at)}`}
                data-testid="email-verified"
              >
                verified
              </span>
            ) : (
              <span
                class="badge"
                title="The person has not confirmed this address"
                data-testid="email-unverified"
              >
                unverified
              </span>
            )}
          </>
        ),
    },
    { heading: 'Joined', class: 'nowrap', cell: (p) => localTime(p.created_at) },
    {
      heading: 'Role',
      cell: (p) => (
        <>
          <label class="sr-only" for={`role-${p.id}`}>
            Role of {p.display_name || p.email || p.id}
          </label>
          <select
            id={`role-${p.id}`}
            value={p.role}
            disabled={saving !== undefined}
            onChange={(e) => {
              const select = e.currentTarget as HTMLSelectElement
              const to = select.value as PersonRole
              // Shown as it is until the server says otherwise.
              select.value = p.role
              void change(p, to)
            }}
          >
            {ROLES.map((r) => (
              <option key={r} disabled={r !== 'participant' && !p.has_password}>
                {r}
              </option>
            ))}
          </select>
          {!p.has_password && (
            <span class="muted" title="A console role needs a password to sign in with">
              {' '}
              no password
            </span>
          )}
        </>
      ),
    },
  ]
  const noOne = role || q ? 'No one matches this role and search.' : 'No one has joined yet.'

  return (
    <section>
      <header class="content-head">
        <h1>People</h1>
      </header>
      <div class="panel">
        <div class="toolbar">
          <FilterSelect
            id="people-role"
            label="Role"
            value={role}
            options={ROLES}
            onPick={(value) => {
              setRole(value as PersonRole | '')
              firstPage()
            }}
          />
          <SearchField
            id="people-q"
            placeholder="email or name"
            onSearch={(text) => {
              setQ(text)
              firstPage()
            }}
          />
        </div>
        {message && (
          <p
            class="notice"
            data-tone={message.tone === 'danger' ? 'danger' : undefined}
            role={message.tone === 'danger' ? 'alert' : 'status'}
            data-testid="people-message"
          >
            {message.text}
          </p>
        )}
        <LoadView value={people} what="people">
          {(d) => (
            <>
              <DataTable
                label="People"
                testid="people-table"
                columns={columns}
                rows={d.people}
                rowKey={(p) => p.id}
                rowAttrs={(p) => ({ 'data-person-id': p.id })}
                // Past page 1 an empty page still shows its table and the way back.
                empty={page === 1 ? noOne : undefined}
                emptyTestid="people-empty"
              />
              {(page > 1 || d.has_more) && (
                <nav class="toolbar pager" aria-label="People pages" data-testid="people-pager">
                  <span class="muted" aria-live="polite">
                    Page {page}
                  </span>
                  <button
                    class="btn btn-soft btn-sm push-right"
                    type="button"
                    disabled={page <= 1}
                    onClick={() => setCursors(cursors.slice(0, -1))}
                  >
                    Previous
                  </button>
                  <button
                    class="btn btn-soft btn-sm"
                    type="button"
                    disabled={!d.has_more}
                    onClick={() => setCursors([...cursors, d.people[d.people.length - 1]?.id])}
                  >
                    Next
                  </button>
                </nav>
              )}
            </>
          )}
        </LoadView>
      </div>
    </section>
  )
}
