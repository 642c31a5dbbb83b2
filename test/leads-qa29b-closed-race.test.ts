// QA pass 29b: a lead an editor closes (won or lost) while a resubmission of its email commits.
// A won or lost lead takes no resubmission (it is a new lead for sales to see); the merge found
// the lead open before the editor's change committed, waited on its row, and then wrote into the
// closed lead anyway: the request vanished into a lead no one looks at any more.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { buildTestApp, createCampaign, guestToken, json } from './helper.js'
import { racingUncommitted } from './pg-lock-fixtures.js'

describe('a lead closed while a resubmission of its email commits (PostgreSQL)', {
  skip: !process.env.DATABASE_URL && 'DATABASE_URL not set',
}, () => {
  for (const closedAs of ['won', 'lost'] as const) {
    it(`starts a new lead and leaves the ${closedAs} one as it was`, async () => {
      const node = await buildTestApp({ dialect: 'postgres' })
      const editor = new pg.Client({ connectionString: node.databaseUrl })
      await editor.connect()
      try {
        const slug = await createCampaign(node.app)
        const { token } = await guestToken(node.app)
        const submit = (message: string) =>
          node.app.inject({
            method: 'POST',
            url: '/api/quote',
            headers: { authorization: `Bearer ${token}` },
            payload: { campaign: slug, name: 'Ada', email: 'closing.race@example.com', message },
          })
        const first = json(await submit('first request')).result.lead_id
        // The editor's change in progress (as `transition` makes it: the row locked and updated,
        // not yet committed), so the resubmission still finds the lead open when it looks it up.
        const res = await racingUncommitted(
          editor,
          `update service_quote_main set status = $2, updated_at = now() where id = $1`,
          [first, closedAs],
          () => submit('second request'),
          'the resubmission waiting on the lead being closed',
        )
        assert.equal(res.statusCode, 200, res.body)

        const rows = await node.app.platform.database.db
          .selectFrom('service_quote_main')
          .selectAll()
          .where('campaign_slug', '=', slug)
          .orderBy('created_at')
          .execute()
        assert.equal(rows.length, 2, 'the resubmission is a new lead')
        assert.deepEqual(
          [rows[0]!.id, rows[0]!.status, rows[0]!.message, rows[0]!.submissions],
          [first, closedAs, 'first request', 1],
          'nothing written into the closed lead',
        )
        assert.deepEqual(
          [rows[1]!.status, rows[1]!.message, rows[1]!.submissions],
          ['new', 'second request', 1],
        )
        assert.deepEqual(json(res).result, { lead_id: rows[1]!.id, status: 'new', updated: false })
      } finally {
        await editor.end()
        await node.close()
      }
    })
  }
})
