import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { json, suiteApp } from './helper.js'

/**
 * A refusal some library answers (the static files behind `/docs`, the site's assets) goes through
 * the one error handler: its code names the status, as our own errors of that status do. It was
 * `BAD_REQUEST` for every such status, a 416 and a 412 included, which a client branching on the
 * code took for bad input.
 */
describe('4xx refusals of the static file server', () => {
  const suite = suiteApp()
  const css = '/docs/static/swagger-ui.css'

  it('a range past the end is 416 RANGE_NOT_SATISFIABLE, as a media file answers it', async () => {
    const whole = await suite.app.inject({ method: 'GET', url: css })
    assert.equal(whole.statusCode, 200)
    const res = await suite.app.inject({ method: 'GET', url: css, headers: { range: 'bytes=999999999-' } })
    assert.equal(res.statusCode, 416, res.body)
    assert.equal(json(res).error.code, 'RANGE_NOT_SATISFIABLE')
    assert.equal(json(res).request_id, res.headers['x-request-id'])
  })

  it('a failed precondition is 412 PRECONDITION_FAILED, as a campaign PATCH answers it', async () => {
    const res = await suite.app.inject({ method: 'GET', url: css, headers: { 'if-match': '"not-this"' } })
    assert.equal(res.statusCode, 412, res.body)
    assert.equal(json(res).error.code, 'PRECONDITION_FAILED')
  })
})
