import { useState } from 'preact/hooks'
import type { Lead, LeadStatus, OvasabiClient } from '../../../client/index.js'
import { errorText, useLoad } from './api.js'
import { LoadView } from './ui.js'

const STATUSES: LeadStatus[] = ['new', 'contacted', 'qualified', 'won', 'lost']

export function Leads({ client, slug }: { client: OvasabiClient; slug: string }) {
  const [status, setStatus] = useState('')
  const [q, setQ] = useState('')
  const [leads, reload] = useLoad(
    () => client.leads.list(slug, { status: status || undefined, q: q || undefined, per_page: 100 }),
    [client, slug, status, q],
  )
  const [message, setMessage] = useState<string>()

  async function change(lead: Lead, next: LeadStatus) {
    try {
      await client.leads.setStatus(slug, lead.id, next)
      setMessage(`Lead ${lead.name ?? lead.id} is now ${next}.`)
      reload()
    } catch (err) {
      setMessage(errorText(err))
    }
  }

  async function erase(lead: Lead) {
    const who = lead.name ?? lead.email ?? lead.id
    if (!confirm(`Erase ${who}? Their name, email, phone, company and message are removed for good.`)) return
    try {
      await client.leads.erase(slug, lead.id)
      setMessage(`Lead ${lead.id} was erased.`)
      reload()
    } catch (err) {
      setMessage(errorText(err))
    }
  }

  // The export needs the API key header, so it is fetched and handed over as a file: the rows
  // the table shows (its status and search), all of them.
  async function exportCsv() {
    try {
      const csv = await client.leads.csv(slug, { status: status || undefined, q: q || undefined })
      const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }))
      const a = document.createElement('a')
      a.href = url
      a.download = `${slug}-leads.csv`
      a.click()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
    } catch (err) {
      setMessage(errorText(err))
    }
  }

  return (
    <div class="panel">
      <div class="toolbar">
        <div class="field inline">
          <label for="lead-status">Status</label>
          <select
            id="lead-status"
            value={status}
            onChange={(e) => setStatus((e.currentTarget as HTMLSelectElement).value)}
          >
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <div class="field inline grow">
          <label for="lead-q">Search</label>
          <input
            id="lead-q"
            type="search"
            placeholder="name, email, company"
            onChange={(e) => setQ((e.currentTarget as HTMLInputElement).value.trim())}
          />
        </div>
        <button class="btn btn-soft btn-sm" type="button" onClick={exportCsv} data-testid="leads-csv">
          Export CSV
        </button>
      </div>
      {message && (
        <p class="notice" role="status">
          {message}
        </p>
      )}
      <LoadView value={leads} what="leads">
        {(d) =>
          d.leads.length === 0 ? (
            <p class="muted">No leads yet.</p>
          ) : (
            <div class="table-wrap">
              <table class="table" data-testid="leads-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Email</th>
                    <th scope="col">Company</th>
                    <th scope="col">Message</th>
                    <th scope="col">Received</th>
                    <th scope="col">Status</th>
                    <th scope="col">
                      <span class="sr-only">Erase</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {d.leads.map((l) => (
                    <tr key={l.id} data-lead-id={String(l.id)}>
                      <td>{l.erased ? <span class="muted">erased</span> : l.name}</td>
                      <td>{l.email}</td>
                      <td>{l.company}</td>
                      <td class="clip">{l.message}</td>
                      <td class="nowrap">{l.created_at ? new Date(l.created_at).toLocaleString() : ''}</td>
                      <td>
                        <label class="sr-only" for={`lead-${l.id}`}>
                          Status of {l.name}
                        </label>
                        <select
                          id={`lead-${l.id}`}
                          value={l.status}
                          onChange={(e) =>
                            change(l, (e.currentTarget as HTMLSelectElement).value as LeadStatus)
                          }
                        >
                          {STATUSES.map((s) => (
                            <option key={s}>{s}</option>
                          ))}
                        </select>
                      </td>
                      <td>
                        {!l.erased && (
                          <button class="btn btn-danger btn-sm" type="button" onClick={() => erase(l)}>
                            Erase
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </LoadView>
    </div>
  )
}
