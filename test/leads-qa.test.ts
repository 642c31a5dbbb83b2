// QA pass on the admin side of leads (issue 4): list filters and paging on bad input, the CSV
// export's formula escaping, who may move or erase a lead, and the 24 h merge.
import assert from 'node:assert/strict'
import { sql } from 'kysely'
import { describe, it } from 'node:test'
import { csvCell } from '../src/modules/quote/quote.csv.js'
import { adminHeaders, createCampaign, DIALECTS, guestToken, json, suiteApp } from './helper.js'

describe('CSV cells', () => {
  it('neutralise formulas after leading whitespace and line breaks too, quoting what needs it', () => {
    assert.equal(csvCell(' =1+1'), "' =1+1")
    assert.equal(csvCell('\n=HYPERLINK("http://evil")'), `"'\n=HYPERLINK(""http://evil"")"`)
    assert.equal(csvCell('\u00a0@SUM(A1)'), "'\u00a0@SUM(A1)")
    assert.equal(csvCell('  -2+3'), "'  -2+3")
    assert.equal(csvCell('\t+x'), "'\t+x")
    assert.equal(csvCell('\r\n+x'), `"'\r\n+x"`)
    // Quotes and line breaks inside a neutralised cell stay one cell.
    assert.equal(csvCell('=a"b\nc,d'), `"'=a""b\nc,d"`)
    // What is not formula-like is left as it is.
    assert.equal(csvCell('a-b'), 'a-b')
    assert.equal(csvCell(' plain '), '" plain "')
    assert.equal(csvCell('say "hi"'), '"say ""hi"""')
    assert.equal(csvCell({ k: '=x' }), '"{""k"":""=x""}"')
    assert.equal(csvCell(null), '')
  })
})

for (const dialect of DIALECTS) {
  describe(`leads QA (${dialect})`, () => {
    const s = suiteApp({ dialect })

    const submit = (token: string, slug: string, email: string, extra: Record<string, unknown> = {}) =>
      s.app.inject({
        method: 'POST',
        url: '/api/quote',
        headers: { authorization: `Bearer ${token}` },
        payload: { campaign: slug, name: 'Ada', email, ...extra },
      })
    const get = (url: string, headers: Record<string, string> = adminHeaders) =>
      s.app.inject({ method: 'GET', url, headers })

    it('takes every RFC 3339 date-time as a filter, year 0 and leap seconds included, never a 500', async () => {
      const slug = await createCampaign(s.app)
      const { token } = await guestToken(s.app)
      assert.equal((await submit(token, slug, 'dates@example.com')).statusCode, 200)
      for (const [query, total] of [
        ['from=0000-01-01T00:00:00Z', 1],
        // Year 1 in its zone, year 0 in UTC.
        ['from=0001-01-01T00:00:00%2B01:00', 1],
        ['to=0000-06-01T00:00:00Z', 0],
        ['from=2016-12-31T23:59:60Z', 1],
        ['to=2016-12-31T23:59:60Z', 0],
        // Year 10000 in UTC.
        ['from=9999-12-31T23:59:59-01:00', 0],
        ['to=9999-12-31T23:59:59-01:00', 1],
      ] as const) {
        const list = await get(`/api/campaign/${slug}/leads?${query}`)
        assert.equal(list.statusCode, 200, `${query}: ${list.body}`)
        assert.equal(json(list).total, total, query)
        const csv = await get(`/api/campaign/${slug}/leads.csv?${query}`)
        assert.equal(csv.statusCode, 200, `${query}: ${csv.body}`)
        assert.equal(csv.body.split('\r\n').length - 2, total, `${query} (CSV rows)`)
      }
    })

    it('answers bad list and export input with 400 and the error envelope', async () => {
      const slug = await createCampaign(s.app)
      for (const query of [
        'page=0',
        'page=abc',
        'page=1.5',
        'per_page=0',
        'per_page=201',
        'status=bogus',
        'status=new&status=won',
        'q=',
        `q=${'x'.repeat(201)}`,
        'from=notadate',
        'from=2024-02-30T00:00:00Z',
        'to=2024-01-01',
        'q=%00',
      ]) {
        const res = await get(`/api/campaign/${slug}/leads?${query}`)
        assert.equal(res.statusCode, 400, `${query}: ${res.body}`)
        assert.equal(json(res).status, 'error', query)
        assert.match(json(res).error.code, /^[A-Z_]+$/, query)
      }
      for (const query of ['status=bogus', 'from=notadate', 'q=%00']) {
        const res = await get(`/api/campaign/${slug}/leads.csv?${query}`)
        assert.equal(res.statusCode, 400, `${query}: ${res.body}`)
      }
      // A search for LIKE's own characters finds them literally.
      const { token } = await guestToken(s.app)
      await submit(token, slug, 'pct@example.com', { company: '100% Widgets_Co' })
      assert.equal(json(await get(`/api/campaign/${slug}/leads?q=%25`)).total, 1)
      assert.equal(json(await get(`/api/campaign/${slug}/leads?q=s_C`)).total, 1)
      assert.equal(json(await get(`/api/campaign/${slug}/leads?q=%5C`)).total, 0)
    })

    it('lets editors move leads and export them, only admins erase, and visitors do neither', async () => {
      const slug = await createCampaign(s.app)
      const visitor = await guestToken(s.app)
      const editor = {
        'x-api-key': (await s.app.platform.apiKeys.create({ name: 'ed', role: 'editor' })).key,
      }
      const guest = { authorization: `Bearer ${visitor.token}` }
      const lead = json(await submit(visitor.token, slug, 'roles@example.com')).result.lead_id
      const patch = (status: string, headers: Record<string, string>) =>
        s.app.inject({
          method: 'PATCH',
          url: `/api/campaign/${slug}/leads/${lead}`,
          headers,
          payload: { status },
        })
      const erase = (headers: Record<string, string>) =>
        s.app.inject({ method: 'DELETE', url: `/api/campaign/${slug}/leads/${lead}`, headers })

      for (const [headers, code] of [
        [{}, 401],
        [guest, 403],
      ] as const) {
        assert.equal((await patch('contacted', headers)).statusCode, code)
        assert.equal((await get(`/api/campaign/${slug}/leads`, headers)).statusCode, code)
        assert.equal((await get(`/api/campaign/${slug}/leads.csv`, headers)).statusCode, code)
        assert.equal((await get(`/api/campaign/${slug}/leads/${lead}`, headers)).statusCode, code)
        assert.equal((await erase(headers)).statusCode, code)
      }
      assert.equal((await get(`/api/campaign/${slug}/leads`, editor)).statusCode, 200)
      assert.equal((await get(`/api/campaign/${slug}/leads.csv`, editor)).statusCode, 200)

      const skip = await patch('won', editor)
      assert.equal(skip.statusCode, 409, skip.body)
      assert.equal(json(skip).error.code, 'INVALID_TRANSITION')
      for (const status of ['contacted', 'qualified', 'won']) {
        const moved = await patch(status, editor)
        assert.equal(moved.statusCode, 200, moved.body)
        assert.equal(json(moved).status, status)
      }
      const closed = await patch('lost', adminHeaders)
      assert.equal(closed.statusCode, 409)
      assert.match(json(closed).error.message, /closed/)

      assert.equal((await erase(editor)).statusCode, 403, 'erasure is for admins')
      assert.equal((await erase(adminHeaders)).statusCode, 200)
      const afterErase = await patch('lost', editor)
      assert.equal(afterErase.statusCode, 409)
      // Another campaign's lead does not exist here.
      const other = await createCampaign(s.app)
      const elsewhere = await s.app.inject({
        method: 'PATCH',
        url: `/api/campaign/${other}/leads/${lead}`,
        headers: adminHeaders,
        payload: { status: 'lost' },
      })
      assert.equal(elsewhere.statusCode, 404)
      assert.equal(json(elsewhere).error.code, 'LEAD_NOT_FOUND')
    })

    it('merges a resubmission within 24 h of the lead, and starts a new lead after', async () => {
      const slug = await createCampaign(s.app)
      const { token } = await guestToken(s.app)
      const first = json(await submit(token, slug, 'Merge@Example.com', { company: 'One' })).result
      const again = json(await submit(token, slug, ' merge@example.com ', { message: 'more' })).result
      assert.deepEqual([again.lead_id, again.updated], [first.lead_id, true])
      const merged = json(await get(`/api/campaign/${slug}/leads/${first.lead_id}`))
      assert.deepEqual([merged.company, merged.message, merged.submissions], ['One', 'more', 2])
      // The same email on another campaign is another lead.
      const other = await createCampaign(s.app)
      assert.equal(json(await submit(token, other, 'merge@example.com')).result.updated, false)

      // A day and an hour later (the window runs from the lead's creation).
      await sql`
        update service_quote_main set created_at = now() - interval '25 hours' where id = ${first.lead_id}
      `.execute(s.app.platform.database.db)
      const later = json(await submit(token, slug, 'merge@example.com')).result
      assert.equal(later.updated, false)
      assert.notEqual(later.lead_id, first.lead_id)
      assert.equal(json(await get(`/api/campaign/${slug}/leads?email=MERGE@example.com`)).total, 2)
    })

    it('starts a new lead when the one within 24 h was won or lost, and merges into it after', async () => {
      const slug = await createCampaign(s.app)
      const { token } = await guestToken(s.app)
      const move = (id: string, status: string) =>
        s.app.inject({
          method: 'PATCH',
          url: `/api/campaign/${slug}/leads/${id}`,
          headers: adminHeaders,
          payload: { status },
        })
      const first = json(await submit(token, slug, 'closed@example.com')).result
      assert.equal((await move(first.lead_id, 'lost')).statusCode, 200)
      const again = json(await submit(token, slug, 'closed@example.com', { message: 'trying again' })).result
      assert.equal(again.updated, false)
      assert.notEqual(again.lead_id, first.lead_id)
      assert.equal(again.status, 'new')
      // The closed lead is left as it was; the open one takes the next resubmission.
      const closed = json(await get(`/api/campaign/${slug}/leads/${first.lead_id}`))
      assert.deepEqual([closed.status, closed.message, closed.submissions], ['lost', null, 1])
      const third = json(await submit(token, slug, 'closed@example.com')).result
      assert.deepEqual([third.lead_id, third.updated], [again.lead_id, true])
    })
  })
}
