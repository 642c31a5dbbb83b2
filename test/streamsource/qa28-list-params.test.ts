import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DIALECTS, json } from '../helper.js'
import { createStream, editorApp, uniqueLink } from './helpers.js'

/**
 * An unknown `sort` fell back to the default order in silence while an unknown `format` was a 422:
 * a wall asking `sort=title` (or `sort=-created_at`) got "pinned, then newest" and could not tell
 * its order was never applied. Every list parameter now refuses what it does not know alike.
 */
for (const dialect of DIALECTS) {
  describe(`StreamSource list parameters (${dialect})`, () => {
    const suite = editorApp(dialect)
    const get = (url: string) => suite.ctx.app.inject({ method: 'GET', url, headers: suite.editor.headers })
    const refused = { sort: ['is not included in the list (name, -name, created, -created)'] }

    it('refuses an unknown sort with a 422 naming the allowed values, on the list and the export', async () => {
      for (const url of [
        '/api/v1/streams?sort=title',
        '/api/v1/streams?sort=-created_at',
        '/api/v1/streams?sort=-',
        '/api/v1/streams/export?sort=newest',
      ]) {
        const res = await get(url)
        assert.equal(res.statusCode, 422, `${url}: ${res.body}`)
        assert.deepEqual(json(res).details, refused, url)
      }
    })

    it('still takes every known sort, in any case and trimmed as `format` is, and an empty one as none', async () => {
      const made = await createStream(suite.ctx.app, suite.editor, uniqueLink())
      assert.equal(made.statusCode, 201, made.body)
      for (const sort of ['name', '-name', 'created', '-created', 'NAME', '-Created', ' name ', '']) {
        const res = await get(`/api/v1/streams?sort=${encodeURIComponent(sort)}&per_page=1`)
        assert.equal(res.statusCode, 200, `${sort}: ${res.body}`)
      }
      const exported = await get('/api/v1/streams/export?sort=-created')
      assert.equal(exported.statusCode, 200, exported.body)
    })

    it('refuses an unknown status, notStatus or platform with a 422 naming the allowed values', async () => {
      // `notStatus=ofline` (a typo) showed every offline stream on a wall meant to hide them, and
      // `status=onlnie` an empty wall, with nothing to tell the operator the filter was no filter.
      const statuses = 'live, offline, unknown, checking, pending, online, streaming, ended'
      for (const [query, details] of [
        ['status=onlnie', { status: [`is not included in the list (${statuses})`] }],
        ['notStatus=ofline', { notStatus: [`is not included in the list (${statuses})`] }],
        ['status=constructor', { status: [`is not included in the list (${statuses})`] }],
        [
          'platform=twitter',
          {
            platform: [
              'is not included in the list (tiktok, facebook, twitch, youtube, instagram, kick, other)',
            ],
          },
        ],
      ] as const) {
        for (const url of [`/api/v1/streams?${query}`, `/api/v1/streams/export?${query}`]) {
          const res = await get(url)
          assert.equal(res.statusCode, 422, `${url}: ${res.body}`)
          assert.deepEqual(json(res).details, details, url)
        }
      }
      for (const query of [
        'status=Live',
        'status=online',
        'notStatus=Ended',
        'platform=Kick',
        'status=',
        'platform=',
      ]) {
        const res = await get(`/api/v1/streams?${query}&per_page=1`)
        assert.equal(res.statusCode, 200, `${query}: ${res.body}`)
      }
    })

    it('answers an empty list with total_pages 0, as StreamSource does (`(count / per_page).ceil`)', async () => {
      // Pinned as the original's answer: clients page while `page < total_pages`, which stops at once.
      const res = await get(`/api/v1/streams?search=${encodeURIComponent(uniqueLink())}`)
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(json(res), {
        streams: [],
        meta: { current_page: 1, total_pages: 0, total_count: 0, per_page: 25 },
      })
    })
  })
}
