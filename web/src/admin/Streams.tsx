import { useRef, useState } from 'preact/hooks'
import { OvasabiError, type OvasabiClient, type SourceStream } from '../../../client/index.js'
import { errorText, useLoad } from './api.js'
import { LoadView, Pager } from './ui.js'

/** Tiles per page: the registry's largest page. */
const PER_PAGE = 100

/**
 * Who may pin and archive on the wall, as the registry decides: an admin (key or person) any
 * stream, an editor's key or an editor only the streams they added themselves, any other key none.
 */
export type WallRole = 'admin' | 'editor' | 'reader'

/**
 * The StreamSource registry as a wall: pinned first, live highlighted; pin and archive in place,
 * on the streams `role` may change (undefined: not known yet, so none are offered). The registry
 * takes the console's sign-in as it is, an API key or a person's token (`person`), so the wall
 * needs no key of its own.
 */
export function StreamsWall({
  client,
  role,
  person = false,
}: {
  client: OvasabiClient
  role: WallRole | undefined
  /** Signed in as a person (email and password) rather than with an API key: how the notes word it. */
  person?: boolean
}) {
  const [status, setStatus] = useState('')
  // Past the first hundred the wall pages: it showed the first 100 and never the rest.
  const [page, setPage] = useState(1)
  const [streams, reload] = useLoad(
    () =>
      client.streamSource.list({ status: status || undefined, is_archived: false, page, per_page: PER_PAGE }),
    [client, status, page],
  )
  const [message, setMessage] = useState<string>()
  // The stream whose pin or archive is on its way: its buttons wait for the answer. A double click
  // sent two requests (a second archive asked again; a second pin could undo the first).
  const [busy, setBusy] = useState<{ id: SourceStream['id']; what: 'pin' | 'archive' }>()
  const busyNow = useRef(false)
  // Streams the server refused this key or person: an editor may change only the streams they
  // added, and the list does not say which key or person added a stream, so one added by another
  // shows its buttons until the server says no; from then on they are not offered.
  const [refused, setRefused] = useState<ReadonlySet<SourceStream['id']>>(new Set())
  /**
   * An editor (key or person) never owns a stream a registry account added (`user_id`) nor a
   * campaign's live stream: the server refuses those (403), so their buttons are not shown.
   */
  const mayChange = (s: SourceStream) =>
    role === 'admin' || (role === 'editor' && s.user_id === null && s.campaign === null && !refused.has(s.id))
  async function act(s: SourceStream, what: 'pin' | 'archive', fn: () => Promise<unknown>) {
    if (busyNow.current) return
    busyNow.current = true
    setBusy({ id: s.id, what })
    try {
      await fn()
      // An earlier refusal no longer describes the wall.
      setMessage(undefined)
      reload()
    } catch (err) {
      if (err instanceof OvasabiError && err.status === 403) {
        setRefused((r) => new Set(r).add(s.id))
        const name = s.title || s.source || s.link
        setMessage(
          person
            ? `${name} was added by someone else: only an admin or the person or key that added it may ` +
                'pin or archive it.'
            : `${name} was added by another key: only an admin’s key or the key that added it may pin or ` +
                'archive it.',
        )
      } else setMessage(errorText(err))
    } finally {
      busyNow.current = false
      setBusy(undefined)
    }
  }
  return (
    <section>
      <header class="content-head">
        <h1>Streams wall</h1>
        <div class="field inline">
          <label for="wall-status">Status</label>
          <select
            id="wall-status"
            value={status}
            onChange={(e) => {
              setStatus((e.currentTarget as HTMLSelectElement).value)
              setPage(1)
            }}
          >
            <option value="">All</option>
            <option>live</option>
            <option>offline</option>
            <option>unknown</option>
          </select>
        </div>
      </header>
      {role === 'editor' && (
        <p class="muted" data-testid="streams-editor-note">
          {person
            ? 'Signed in as an editor: you pin and archive the streams you added. An admin changes any stream.'
            : 'Signed in with an editor’s key: it pins and archives the streams it added. An admin’s key changes any stream.'}
        </p>
      )}
      {message && (
        <p class="notice" data-tone="danger" role="alert">
          {message}
        </p>
      )}
      <LoadView value={streams} what="stream registry">
        {(d) =>
          d.streams.length === 0 && d.meta.current_page === 1 ? (
            <p class="muted" data-testid="streams-empty">
              {status ? `No ${status} streams.` : 'No streams registered.'}
            </p>
          ) : (
            <>
              <div class="wall" data-testid="streams-wall">
                {d.streams.map((s: SourceStream) => (
                  <article
                    key={s.id}
                    class="tile"
                    data-status={s.status}
                    data-pinned={s.is_pinned ? 'true' : 'false'}
                  >
                    <div class="tile-head">
                      <span class="badge" data-tone={s.status === 'live' ? 'live' : undefined}>
                        {s.status}
                      </span>
                      {s.is_pinned && <span class="badge">pinned</span>}
                      <span class="muted push-right">{s.platform}</span>
                    </div>
                    <strong class="break" dir="auto">
                      {s.title || s.source || s.link}
                    </strong>
                    <a class="break small" href={s.link} rel="noopener noreferrer" target="_blank">
                      {s.link}
                    </a>
                    <span class="muted small">{[s.city, s.state].filter(Boolean).join(', ')}</span>
                    {mayChange(s) && (
                      <div class="tile-actions">
                        <button
                          class="btn btn-soft btn-sm"
                          type="button"
                          disabled={busy !== undefined}
                          onClick={() =>
                            act(s, 'pin', () =>
                              s.is_pinned ? client.streamSource.unpin(s.id) : client.streamSource.pin(s.id),
                            )
                          }
                        >
                          {busy?.id === s.id && busy.what === 'pin'
                            ? s.is_pinned
                              ? 'Unpinning…'
                              : 'Pinning…'
                            : s.is_pinned
                              ? 'Unpin'
                              : 'Pin'}
                        </button>
                        <button
                          class="btn btn-danger btn-sm"
                          type="button"
                          disabled={busy !== undefined}
                          onClick={() => {
                            if (busyNow.current) return
                            const name = s.title || s.source || s.link
                            if (confirm(`Archive ${name}? It leaves the wall.`))
                              void act(s, 'archive', () => client.streamSource.archive(s.id))
                          }}
                        >
                          {busy?.id === s.id && busy.what === 'archive' ? 'Archiving…' : 'Archive'}
                        </button>
                      </div>
                    )}
                  </article>
                ))}
              </div>
              <Pager
                // The page the tiles are from, not the one asked for: until its answer comes the
                // wall still shows the last one's tiles, and the count must say those.
                page={d.meta.current_page}
                perPage={d.meta.per_page}
                total={d.meta.total_count}
                shown={d.streams.length}
                noun="Streams"
                testid="streams-pager"
                onPage={setPage}
              />
            </>
          )
        }
      </LoadView>
    </section>
  )
}
