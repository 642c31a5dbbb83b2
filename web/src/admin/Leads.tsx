import { useRef, useState } from 'preact/hooks'
import { type Lead, type LeadStatus, OvasabiError, type OvasabiClient } from '../../../client/index.js'
import { errorText, useLoad } from './api.js'
import { type Column, DataTable, FilterSelect, LoadView, localTime, Pager, SearchField } from './ui.js'

const STATUSES: LeadStatus[] = ['new', 'contacted', 'qualified', 'won', 'lost']
const PER_PAGE = 100

/** `canErase`: the key is an admin's (only an admin may erase; an editor's key was answered 403). */
export function Leads({
  client,
  slug,
  canErase,
}: {
  client: OvasabiClient
  slug: string
  canErase: boolean
}) {
  const [status, setStatus] = useState('')
  const [q, setQ] = useState('')
  // Past the first hundred the table pages: it showed the first 100 and said nothing of the rest.
  // By cursor: each page after the first is asked as the leads after the last one of the page
  // before (`before`), so leads arriving meanwhile do not push rows already read onto the next
  // page, as an offset did. `cursors[n]` ends page n + 1; page 1 has none.
  const [cursors, setCursors] = useState<string[]>([])
  const firstPage = () => setCursors((c) => (c.length === 0 ? c : []))
  const [message, setMessage] = useState<{ tone: 'ok' | 'warn' | 'danger'; text: string }>()
  const [leads, reload] = useLoad(async () => {
    // One lead more than a page: whether a page follows. `total` cannot tell once leads arrived
    // after page 1 was read (they count in it, yet come before it), and a last page exactly full
    // led "Next" to an empty one.
    const ask = (before: string | undefined) =>
      client.leads.list(slug, {
        status: status || undefined,
        q: q || undefined,
        before,
        per_page: PER_PAGE + 1,
      })
    const shown = async (before: string | undefined, page: number) => {
      const d = await ask(before)
      // The server counts `page` on from the cursor (1): the pager says which page this is.
      return { ...d, leads: d.leads.slice(0, PER_PAGE), more: d.leads.length > PER_PAGE, page }
    }
    try {
      return await shown(cursors.at(-1), cursors.length + 1)
    } catch (err) {
      if (!(cursors.length > 0 && err instanceof OvasabiError && err.code === 'INVALID_CURSOR')) throw err
      // The lead the page went on from is no longer the campaign's (removed from the database):
      // the pages after page 1 cannot be found from it, so back to page 1, said so, not an error.
      setCursors([])
      setMessage({ tone: 'warn', text: 'The lead that page went on from is gone: back to the first page.' })
      return await shown(undefined, 1)
    }
  }, [client, slug, status, q, cursors])
  /** To page `to` from the page `d` shows: on by the last lead shown, or back by the cursors kept. */
  const turn = (d: { page: number; leads: Lead[] }, to: number) => {
    if (to > d.page) {
      const last = d.leads.at(-1)
      if (last) setCursors([...cursors.slice(0, d.page - 1), String(last.id)])
    } else setCursors(cursors.slice(0, Math.max(0, to - 1)))
  }

  async function change(lead: Lead, next: LeadStatus) {
    try {
      await client.leads.setStatus(slug, lead.id, next)
      setMessage({ tone: 'ok', text: `Lead ${lead.name || lead.id} is now ${next}.` })
    } catch (err) {
      setMessage({ tone: 'danger', text: errorText(err) })
    }
    // Either way the table shows what the server holds: a refused change must not stay selected.
    reload()
  }

  // The lead being erased: its button waits for the answer. A second click while the first was
  // on its way asked again and sent a second erase.
  const [erasing, setErasing] = useState<Lead['id']>()
  const erasingNow = useRef(false)
  async function erase(lead: Lead) {
    if (erasingNow.current) return
    const who = lead.name || lead.email || lead.id
    if (!confirm(`Erase ${who}? Their name, email, phone, company and message are removed for good.`)) return
    erasingNow.current = true
    setErasing(lead.id)
    try {
      await client.leads.erase(slug, lead.id)
      setMessage({ tone: 'ok', text: `Lead ${who} was erased.` })
      reload()
    } catch (err) {
      setMessage({ tone: 'danger', text: errorText(err) })
    } finally {
      erasingNow.current = false
      setErasing(undefined)
    }
  }

  /** The table's columns: the Erase one for an admin's key only. */
  const columns: Column<Lead>[] = [
    {
      heading: 'Name',
      cell: (l) =>
        l.erased ? (
          <span class="muted">erased</span>
        ) : (
          <span class="clip" dir="auto" title={l.name ?? undefined}>
            {l.name}
          </span>
        ),
    },
    { heading: 'Email', class: 'email', cell: (l) => l.email },
    { heading: 'Company', cellAttrs: () => ({ dir: 'auto' }), cell: (l) => l.company },
    {
      heading: 'Message',
      class: 'message',
      // A 5,000-character message would make its row pages tall: a few lines, all on hover.
      // `dir="auto"` on visitor text: Arabic or Hebrew reads right to left, its punctuation at its end.
      cell: (l) => (
        <span class="clip" dir="auto" title={l.message ?? undefined}>
          {l.message}
        </span>
      ),
    },
    { heading: 'Received', class: 'nowrap', cell: (l) => (l.created_at ? localTime(l.created_at) : '') },
    {
      heading: 'Status',
      cell: (l) => (
        <>
          <label class="sr-only" for={`lead-${l.id}`}>
            Status of {l.erased ? `erased lead ${l.id}` : l.name || l.email || l.id}
          </label>
          {/* An erased lead's status is settled: the server refuses to change it. */}
          <select
            id={`lead-${l.id}`}
            value={l.status}
            disabled={l.erased}
            onChange={(e) => change(l, (e.currentTarget as HTMLSelectElement).value as LeadStatus)}
          >
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </>
      ),
    },
    ...(canErase
      ? [
          {
            heading: 'Erase',
            hideHeading: true,
            cell: (l: Lead) =>
              !l.erased && (
                <button
                  class="btn btn-danger btn-sm"
                  type="button"
                  disabled={erasing !== undefined}
                  onClick={() => erase(l)}
                >
                  {erasing === l.id ? 'Erasing…' : 'Erase'}
                </button>
              ),
          },
        ]
      : []),
  ]

  // The export needs the API key header, so it is fetched and handed over as a file: the rows
  // the table shows (its status and search), all of them.
  async function exportCsv() {
    try {
      const csv = await client.leads.csv(slug, { status: status || undefined, q: q || undefined })
      // A byte order mark first: Excel opens a CSV file without one in the system's legacy code
      // page, so every accented or East Asian name came out garbled.
      const url = URL.createObjectURL(new Blob(['\uFEFF', csv], { type: 'text/csv;charset=utf-8' }))
      const a = document.createElement('a')
      a.href = url
      a.download = `${slug}-leads.csv`
      a.click()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
    } catch (err) {
      setMessage({ tone: 'danger', text: errorText(err) })
    }
  }

  const noLeads = status || q ? 'No leads match this status and search.' : 'No leads yet.'

  return (
    <div class="panel">
      <div class="toolbar">
        <FilterSelect
          id="lead-status"
          label="Status"
          value={status}
          options={STATUSES}
          onPick={(value) => {
            setStatus(value)
            firstPage()
          }}
        />
        <SearchField
          id="lead-q"
          placeholder="name, email, company"
          onSearch={(text) => {
            setQ(text)
            firstPage()
          }}
        />
        <button class="btn btn-soft btn-sm" type="button" onClick={exportCsv} data-testid="leads-csv">
          Export CSV
        </button>
      </div>
      {message && (
        <p
          class="notice"
          data-tone={message.tone}
          role={message.tone === 'danger' ? 'alert' : 'status'}
          data-testid="leads-message"
        >
          {message.text}
        </p>
      )}
      <LoadView value={leads} what="leads">
        {(d) => (
          <>
            <DataTable
              label="Leads"
              testid="leads-table"
              columns={columns}
              rows={d.leads}
              rowKey={(l) => l.id}
              rowAttrs={(l) => ({ 'data-lead-id': String(l.id) })}
              // Past page 1 an empty page still shows its table: its pager says why.
              empty={d.page === 1 ? noLeads : undefined}
              emptyTestid="leads-empty"
            />
            <Pager
              // The page the rows are from, not the one asked for: until its answer comes the
              // table still shows the last one's rows, and the count must say those.
              page={d.page}
              perPage={PER_PAGE}
              total={d.total}
              shown={d.leads.length}
              more={d.more}
              noun="Leads"
              testid="leads-pager"
              onPage={(to) => turn(d, to)}
            />
          </>
        )}
      </LoadView>
    </div>
  )
}
