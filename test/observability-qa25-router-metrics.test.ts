// Requests the router refuses itself (QA pass 25): a URL with a broken percent-encoding (400
// `INVALID_URL`) or a path segment over its length (414) is answered before any route or hook
// runs, so `ovasabi_http_request_duration_seconds` never counted them: a scanner's flood of such
// URLs was invisible on the dashboards. They are counted now, under route `unmatched`.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { suiteApp } from './helper.js'

/** The request counter's value for GET on `route` answered `status`; 0 when the series is absent. */
async function counted(app: ReturnType<typeof suiteApp>['app'], route: string, status: number) {
  const res = await app.inject({ url: '/metrics' })
  assert.equal(res.statusCode, 200, res.body)
  const line = res.body
    .split('\n')
    .find((l) =>
      l.startsWith(
        `ovasabi_http_request_duration_seconds_count{method="GET",route="${route}",status="${status}"}`,
      ),
    )
  return line ? Number(line.split(' ').at(-1)) : 0
}

describe('request metrics of URLs the router refuses', () => {
  const suite = suiteApp()

  it('count them under route unmatched with their status', async () => {
    const app = suite.app
    const before400 = await counted(app, 'unmatched', 400)
    const before414 = await counted(app, 'unmatched', 414)
    for (let i = 0; i < 3; i++) {
      const bad = await app.inject({ url: '/api/user/%E0%A4%A' })
      assert.equal(bad.statusCode, 400, bad.body)
    }
    const long = await app.inject({ url: `/api/campaign/${'a'.repeat(1000)}` })
    assert.equal(long.statusCode, 414, long.body)
    assert.equal(await counted(app, 'unmatched', 400), before400 + 3)
    assert.equal(await counted(app, 'unmatched', 414), before414 + 1)
  })
})
