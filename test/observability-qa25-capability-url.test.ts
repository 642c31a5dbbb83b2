import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { appWithLogCapture } from './log-capture.js'

/**
 * The signed upload URL is a capability: whoever reads it can upload. The router percent-decodes
 * the path before it matches a route, so `/media/%75pload/{token}` reaches the upload route as
 * `/media/upload/{token}` does; the log kept the token of the first form.
 */
describe('request logs of the upload capability', () => {
  it('withhold the token however the path is percent-encoded', async () => {
    const { app, lines } = appWithLogCapture()
    const reached: string[] = []
    app.put<{ Params: { token: string } }>('/media/upload/:token', async (request) => {
      reached.push(request.params.token)
      return 'ok'
    })
    try {
      for (const url of [
        '/media/upload/CAP.plain',
        '/media/%75pload/CAP.encoded',
        '/%6Dedia/uploa%64/CAP.both',
        '/media/upload/CAP.query?x=1',
      ]) {
        const res = await app.inject({ method: 'PUT', url })
        assert.equal(res.statusCode, 200, `${url}: ${res.body}`)
      }
    } finally {
      await app.close()
    }
    assert.deepEqual(reached, ['CAP.plain', 'CAP.encoded', 'CAP.both', 'CAP.query'])
    const urls = lines.map((l) => l.req?.url).filter(Boolean)
    assert.deepEqual(urls, [
      '/media/upload/[redacted]',
      '/media/%75pload/[redacted]',
      '/%6Dedia/uploa%64/[redacted]',
      '/media/upload/[redacted]?x=1',
    ])
    assert.ok(!JSON.stringify(lines).includes('CAP.'), JSON.stringify(lines))
  })
})
