// A lead as the CSV export QA suites check it: submitted by a guest to a campaign of its own,
// then exported by an admin, so each cell is read as the export wrote it from the stored lead.
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { adminHeaders, createCampaign, guestToken } from './helper.js'

export interface ExportedLead {
  slug: string
  /** The export's header, split into its column names. */
  columns: string[]
  /** The lead's row as the export wrote it (the campaign's only lead). */
  row: string
  /** The row's cell under `column`, quoted and escaped as written. */
  cell(column: string): string | undefined
}

/** `fields` (a name and an email at least) sent to `POST /api/quote` by a guest of a new campaign, then exported. */
export async function exportedLead(
  app: FastifyInstance,
  fields: Record<string, unknown>,
): Promise<ExportedLead> {
  const slug = await createCampaign(app)
  const { token } = await guestToken(app)
  const sent = await app.inject({
    method: 'POST',
    url: '/api/quote',
    headers: { authorization: `Bearer ${token}` },
    payload: { campaign: slug, ...fields },
  })
  assert.equal(sent.statusCode, 200, sent.body)
  const csv = await app.inject({
    method: 'GET',
    url: `/api/campaign/${slug}/leads.csv`,
    headers: adminHeaders,
  })
  assert.equal(csv.statusCode, 200, csv.body)
  const [header, row] = csv.body.split('\r\n')
  const columns = header!.split(',')
  const cells = row!.match(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)!.map((c) => c.replace(/,$/, ''))
  return { slug, columns, row: row!, cell: (column) => cells[columns.indexOf(column)] }
}
