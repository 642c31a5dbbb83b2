// Every REST error names a field the same way, whoever found the problem (the route's schema,
// a check of our own, an action's payload schema, a refusal recorded as an action's outcome):
// `in` is the part of the request (`body`, `query`, `params`, `headers`) and `path` a JSON
// Pointer into it. The SDK and the admin console read them from a real server's answers.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { OvasabiError } from '../client/errors.js'
import { errorText } from '../web/src/admin/api.js'
import {
  ADMIN_KEY,
  buildTestApp,
  createCampaign,
  guestToken,
  listenLocally,
  type TestContext,
  uniqueSlug,
} from './helper.js'

type Problem = { in: string; path: string; message: string; [more: string]: unknown }

describe('field paths in error bodies', () => {
  let t: TestContext
  let base: string
  let slug: string
  let guest: string

  before(async () => {
    t = await buildTestApp()
    base = await listenLocally(t.app)
    slug = await createCampaign(t.app)
    guest = (await guestToken(t.app)).token
  })
  after(() => t.close())

  async function call(
    method: string,
    url: string,
    init: { body?: unknown; headers?: Record<string, string>; admin?: boolean } = {},
  ) {
    const headers: Record<string, string> = {
      ...(init.admin === false ? { authorization: `Bearer ${guest}` } : { 'x-api-key': ADMIN_KEY }),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    }
    const res = await fetch(`${base}${url}`, {
      method,
      headers,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    })
    return { status: res.status, headers: res.headers, body: (await res.json()) as any }
  }

  /** The answer's field problems, each checked to be in the one documented form. */
  function problems(res: { status: number; body: any }, status: number): Problem[] {
    assert.equal(res.status, status, JSON.stringify(res.body))
    const details = res.body.error.details as Problem[]
    assert.ok(Array.isArray(details) && details.length > 0, JSON.stringify(res.body))
    for (const d of details) {
      assert.ok(['body', 'query', 'params', 'headers'].includes(d.in), `in: ${JSON.stringify(d)}`)
      assert.match(d.path, /^(\/.*)?$/, `a JSON Pointer: ${JSON.stringify(d)}`)
      assert.equal(typeof d.message, 'string')
    }
    return details
  }
  const where = (ds: Problem[]) => ds.map((d) => `${d.in} ${d.path}`).sort()

  it("the route's schema: body, query, params and headers, each named with its pointer", async () => {
    const body = await call('POST', '/api/campaign', {
      body: { slug: uniqueSlug(), title: 'T', metadata: { scheduling: { frequency: 500 } } },
    })
    assert.deepEqual(where(problems(body, 400)), ['body /metadata/scheduling/frequency'])

    const query = await call('GET', `/api/campaign/${slug}/leads?status=bogus`)
    assert.deepEqual(where(problems(query, 400)), ['query /status'])

    const params = await call('GET', '/api/campaign/Not%20A%20Slug')
    assert.deepEqual(where(problems(params, 400)), ['params /slug'])

    const header = await call('GET', '/media/abc', { headers: { 'if-none-match': `"${'x'.repeat(5000)}"` } })
    assert.deepEqual(where(problems(header, 400)), ['headers /if-none-match'])
  })

  it('an unknown key is named by its own pointer, escaped as RFC 6901 says', async () => {
    const res = await call('POST', '/api/campaign', {
      body: { slug: uniqueSlug(), title: 'T', 'we/ird~': 1 },
    })
    const [unknown] = problems(res, 400)
    assert.deepEqual(unknown, { in: 'body', path: '/we~1ird~0', message: 'is not a known property' })
    // The SDK names the field as it was sent.
    const err = OvasabiError.fromBody(res.status, res.body, res.headers)
    assert.equal(err.fieldErrors()['we/ird~'], 'is not a known property')
  })

  it('checks of our own name the body as the schema does, merge patches included', async () => {
    const blank = await call('POST', '/api/campaign', { body: { slug: uniqueSlug(), title: '  ' } })
    assert.deepEqual(problems(blank, 400), [{ in: 'body', path: '/title', message: 'must not be blank' }])

    const merged = await call('PATCH', `/api/campaign/${slug}`, {
      body: { metadata: { scheduling: { colour: 'red' } } },
      headers: { 'content-type': 'application/merge-patch+json' },
    })
    assert.deepEqual(problems(merged, 400), [
      { in: 'body', path: '/metadata/scheduling/colour', message: 'is not a known property' },
    ])
    const rate = await call('PATCH', `/api/campaign/${slug}`, {
      body: { metadata: { scheduling: { frequency: 500 } } },
      headers: { 'content-type': 'application/merge-patch+json' },
    })
    assert.deepEqual(where(problems(rate, 400)), ['body /metadata/scheduling/frequency'])
  })

  it("the action endpoint: the path's campaign is a param; payload paths are the body's, thrown or recorded", async () => {
    const param = await call('POST', '/api/Not-A-Slug/update', {
      admin: false,
      body: { action: 'content.like', data: {} },
    })
    assert.deepEqual(where(problems(param, 400)), ['params /campaign'])

    // The payload schema refuses before the action runs (thrown) ...
    const thrown = await call('POST', `/api/${slug}/update`, {
      admin: false,
      body: { action: 'stream.chat', data: { stream_id: 'x', text: 1 } },
    })
    const chat = problems(thrown, 400)
    assert.ok(
      chat.every((d) => d.in === 'body' && d.path.startsWith('/data/')),
      JSON.stringify(chat),
    )
    // ... the quote handler refuses as the action's recorded outcome; both seed form and /api/quote.
    const seed = await call('POST', `/api/${slug}/update`, {
      admin: false,
      body: { action: 'quote.submit', data: { name: 'Ann', email: 'nope' } },
    })
    assert.deepEqual(where(problems(seed, 400)), ['body /data/email'])
    const quote = await call('POST', '/api/quote', {
      admin: false,
      body: { campaign: slug, name: 'Ann', email: 'nope', phone: 12 },
    })
    assert.deepEqual(where(problems(quote, 400)), ['body /email', 'body /phone'])
    const err = OvasabiError.fromBody(quote.status, quote.body, quote.headers)
    assert.deepEqual(Object.keys(err.fieldErrors()).sort(), ['email', 'phone'])
  })

  it("the admin console's notice names the field from the pointer", async () => {
    const res = await call('PATCH', `/api/campaign/${slug}`, {
      body: { metadata: { custom_rules: { max_cursors: 5000 } } },
      headers: { 'content-type': 'application/merge-patch+json' },
    })
    problems(res, 400)
    const text = errorText(OvasabiError.fromBody(res.status, res.body, res.headers))
    assert.match(text, /^VALIDATION_FAILED: .*: metadata\.custom_rules\.max_cursors must be <= 1000/)
  })
})
