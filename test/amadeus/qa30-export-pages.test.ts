import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Response as LightMyRequestResponse } from 'light-my-request'
import * as repo from '../../src/amadeus/amadeus.repo.js'
import { adminHeaders, buildTestApp, json, type TestContext } from '../helper.js'

/**
 * The newest 1000 versions of the service graph are kept, about 100 kB each, but the import route
 * takes at most 50 MiB: a whole history exported over HTTP could not be imported over HTTP (past
 * about 500 versions). The export comes in pages (`?after=&limit=`, the next one named in a
 * `Link: rel="next"` header), and each page is a document the import takes on its own.
 */
describe('the service graph history moved over HTTP in pages', () => {
  let from: TestContext
  let to: TestContext
  before(async () => {
    ;[from, to] = await Promise.all([buildTestApp(), buildTestApp()])
  })
  after(async () => {
    await Promise.all([from.close(), to.close()])
  })

  it('exports pages that follow each other and imports each into an empty history', async () => {
    const db = from.app.platform.database.db
    const [latest] = await repo.all(db).then((all) => all.slice(-1))
    assert.ok(latest, 'the app stored its graph at start')
    for (let v = latest.version + 1; v <= latest.version + 6; v++)
      assert.ok(await repo.insert(db, { ...latest, version: v, created_at: new Date().toISOString() }))
    const versions = (await repo.all(db)).map((s) => s.version)

    const pages: any[] = []
    let url: string | undefined = '/api/amadeus/export?limit=3'
    while (url) {
      const res: LightMyRequestResponse = await from.app.inject({ url, headers: adminHeaders })
      assert.equal(res.statusCode, 200, res.body)
      pages.push(json(res))
      const next = /^<([^>]+)>; rel="next"$/.exec(String(res.headers.link ?? ''))
      url = next?.[1]
      assert.ok(pages.length <= versions.length, 'the pages end')
    }
    assert.deepEqual(
      pages.map((p) => p.snapshots.length),
      [3, 3, versions.length - 6].filter((n) => n > 0),
    )
    assert.deepEqual(
      pages.flatMap((p) => p.snapshots.map((s: any) => s.version)),
      versions,
    )

    await to.app.platform.database.db.deleteFrom('service_amadeus_snapshot').execute()
    let imported = 0
    for (const page of pages.reverse()) {
      const res = await to.app.inject({
        method: 'POST',
        url: '/api/amadeus/import',
        headers: adminHeaders,
        payload: page,
      })
      assert.equal(res.statusCode, 200, res.body)
      imported += json(res).imported
    }
    assert.equal(imported, versions.length)
    const whole = json(await to.app.inject({ url: '/api/amadeus/export', headers: adminHeaders }))
    assert.deepEqual(
      whole.snapshots.map((s: any) => [s.version, s.hash]),
      (await repo.all(db)).map((s) => [s.version, s.hash]),
    )
  })

  it('refuses a page size or position it cannot honour', async () => {
    for (const query of ['limit=0', 'limit=1001', 'after=-1', 'limit=x']) {
      const res = await from.app.inject({ url: `/api/amadeus/export?${query}`, headers: adminHeaders })
      assert.equal(res.statusCode, 400, `${query}: ${res.body}`)
    }
  })
})
