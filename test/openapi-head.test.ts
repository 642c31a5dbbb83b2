// The OpenAPI document lists the HEAD operations the server answers (every GET's, Fastify's
// `exposeHeadRoutes`, and the media files' own), as a HEAD answers: GET's status and headers,
// no body, no Range. Fetched from a real server, and checked against real HEAD requests.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  ADMIN_KEY,
  buildTestApp,
  createCampaign,
  guestToken,
  listenLocally,
  type TestContext,
} from './helper.js'
import { publishedUpload } from './media-fixtures.js'

type Operation = {
  operationId?: string
  parameters?: Array<{ in: string; name: string }>
  responses: Record<string, { content?: unknown; headers?: Record<string, unknown> }>
}
type PathItem = Record<string, Operation>

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(500, 0x20), Buffer.from('\n%%EOF\n')])

describe('HEAD operations in the OpenAPI document', () => {
  let t: TestContext
  let base: string
  let paths: Record<string, PathItem>

  before(async () => {
    t = await buildTestApp()
    base = await listenLocally(t.app)
    const res = await fetch(`${base}/docs/openapi.json`)
    assert.equal(res.status, 200)
    paths = ((await res.json()) as { paths: Record<string, PathItem> }).paths
  })
  after(() => t.close())

  /** `/media/{id}` as the router spells it: `/media/:id` (`{*}`: `*`). */
  const routeOf = (path: string) => path.replace('{*}', '*').replace(/\{([^}]+)\}/g, ':$1')

  it('lists a head operation exactly where the server answers HEAD', async () => {
    let listed = 0
    for (const [path, item] of Object.entries(paths)) {
      const served = t.app.hasRoute({ method: 'HEAD', url: routeOf(path) })
      assert.equal(Boolean(item.head), served, `${path}: HEAD served ${served}, listed ${Boolean(item.head)}`)
      if (item.head) listed++
      // Every GET answers HEAD here: none is left out.
      if (item.get) assert.ok(item.head, `${path} has GET but no HEAD`)
    }
    assert.ok(paths['/media/{id}']?.head, 'the media file HEAD route')
    assert.ok(paths['/api/campaign/{slug}']?.head, 'an automatic HEAD beside a GET')
    assert.ok(listed > 20, `${listed} head operations`)
  })

  it('answers them as HEAD: no body, no Range, Content-Length, ids of their own', async () => {
    const ids = new Map<string, string>()
    for (const [path, item] of Object.entries(paths)) {
      for (const method of METHODS) {
        const id = item[method]?.operationId
        if (!id) continue
        assert.ok(!ids.has(id), `${method} ${path}: operationId ${id} is also ${ids.get(id)}'s`)
        assert.match(id, /^[A-Za-z][A-Za-z0-9]*$/, `${method} ${path}: ${id}`)
        ids.set(id, `${method} ${path}`)
      }
      const head = item.head
      if (!head) continue
      for (const [status, response] of Object.entries(head.responses)) {
        assert.equal(response.content, undefined, `HEAD ${path} ${status} has no body`)
        assert.ok(!['206', '416'].includes(status), `HEAD ${path} answers no ${status}`)
      }
      if (head.responses['200'])
        assert.ok(head.responses['200'].headers?.['content-length'], `HEAD ${path} 200`)
      for (const p of head.parameters ?? []) {
        assert.ok(
          !(p.in === 'header' && ['range', 'if-range'].includes(p.name)),
          `HEAD ${path} reads no ${p.name}`,
        )
      }
    }
    assert.equal(paths['/media/{id}']!.head!.operationId, 'headMedia')
    assert.equal(paths['/api/campaign/{slug}']!.head!.operationId, 'headCampaign')
    // GET keeps its own: its body and its Range answers.
    const get = paths['/media/{id}']!.get!
    assert.ok(get.responses['206']?.content && get.responses['416'])
    assert.ok(get.parameters?.some((p) => p.name === 'range'))
  })

  it('documents what real HEAD requests answer', async () => {
    const slug = await createCampaign(t.app)
    const { token } = await guestToken(t.app)
    const { media_id } = await publishedUpload(t.app, base, slug, token, {
      bytes: PDF,
      type: 'application/pdf',
      filename: 'doc.pdf',
    })
    const admin = { 'x-api-key': ADMIN_KEY }
    for (const [path, url, headers] of [
      ['/media/{id}', `/media/${media_id}`, {}],
      ['/media/{id}', '/media/no-such-media', {}],
      ['/api/campaign/{slug}', `/api/campaign/${slug}`, admin],
      ['/api/campaign/{slug}', '/api/campaign/no-such-campaign', admin],
      ['/health/live', '/health/live', {}],
    ] as const) {
      const res = await fetch(`${base}${url}`, {
        method: 'HEAD',
        headers: { ...headers, range: 'bytes=0-1' },
      })
      assert.equal((await res.arrayBuffer()).byteLength, 0, url)
      const documented = paths[path]!.head!.responses[String(res.status)]
      assert.ok(documented, `HEAD ${url} answered ${res.status}, not documented for HEAD ${path}`)
      if (res.status === 200) assert.ok(Number(res.headers.get('content-length')) > 0, url)
      for (const name of Object.keys(documented.headers ?? {})) {
        if (name === 'location') continue
        assert.ok(res.headers.has(name), `HEAD ${url} ${res.status}: documented header ${name} is sent`)
      }
    }
  })
})
