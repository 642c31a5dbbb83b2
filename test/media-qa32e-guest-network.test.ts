// Guests' uploads have a budget per client network per campaign per day
// (MEDIA_GUEST_NETWORK_QUOTA_BYTES). Before, each guest session had only its own uploader quota, and
// a new session (free: POST /api/session) came with a fresh one, so one client could fill the
// campaign's quota alone. Real HTTP over a real port, from two loopback addresses (two networks).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, createCampaign, DIALECTS, listenLocally, type TestContext } from './helper.js'

const NETWORK_QUOTA = 100_000
const PER_FILE = 40_000
/** Two client networks: the loopback range is all this machine's, so either may connect. */
const NET_A = '127.0.0.1'
const NET_B = '127.0.0.2'

interface CallOptions {
  token?: string
  body?: unknown
  raw?: Buffer
  headers?: Record<string, string>
}

/** One request from `from` (the client's address, hence its network) over a real socket. */
function request(
  port: number,
  from: string,
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = opts.raw ?? (opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body)))
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        localAddress: from,
        method,
        path,
        headers: {
          ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(payload ? { 'content-length': String(payload.length) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString()
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined })
        })
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

for (const dialect of DIALECTS) {
  describe(`media: guests' upload budget per client network (${dialect})`, () => {
    let ctx: TestContext
    let port = 0

    before(async () => {
      ctx = await buildTestApp({
        dialect,
        env: {
          MEDIA_GUEST_NETWORK_QUOTA_BYTES: String(NETWORK_QUOTA),
          MEDIA_USER_QUOTA_BYTES: '1000000',
          MEDIA_CAMPAIGN_QUOTA_BYTES: '10000000',
        },
      })
      port = Number(new URL(await listenLocally(ctx.app)).port)
    })
    after(async () => ctx.close())

    const call = (from: string, method: string, path: string, opts?: CallOptions) =>
      request(port, from, method, path, opts)

    const campaign = () =>
      createCampaign(ctx.app, { metadata: { custom_rules: { media_max_bytes: PER_FILE } } })
    /** A new guest session (`POST /api/session`), as any client may start at will. */
    async function session(from: string): Promise<string> {
      const res = await call(from, 'POST', '/api/session')
      assert.equal(res.status, 201, JSON.stringify(res.body))
      return res.body.token
    }
    const ticket = (from: string, token: string, slug: string, size: number) =>
      call(from, 'POST', `/api/${slug}/update`, {
        token,
        body: { action: 'upload_media', data: { filename: 'a.png', content_type: 'image/png', size } },
      })
    async function granted(from: string, token: string, slug: string, size: number) {
      const t = await ticket(from, token, slug, size)
      assert.equal(t.status, 200, JSON.stringify(t.body))
      return t.body.result as { media_id: string; upload_url: string; max_bytes: number }
    }
    function assertNetworkRefusal(res: { status: number; body: any }, used: number) {
      assert.equal(res.status, 413, JSON.stringify(res.body))
      assert.equal(res.body.error.code, 'STORAGE_QUOTA_EXCEEDED')
      assert.match(res.body.error.message, /network/)
      assert.deepEqual(res.body.error.details, {
        quota: 'guest_network',
        limit_bytes: NETWORK_QUOTA,
        used_bytes: used,
        remaining_bytes: NETWORK_QUOTA - used,
      })
    }

    it('two guest sessions from the same network share one budget; another network has its own', async () => {
      const slug = await campaign()
      const first = await session(NET_A)
      await granted(NET_A, first, slug, PER_FILE)
      await granted(NET_A, first, slug, PER_FILE)
      // A fresh session on the same network gets no fresh budget: 20,000 bytes are left.
      const second = await session(NET_A)
      assertNetworkRefusal(await ticket(NET_A, second, slug, 30_000), 80_000)
      await granted(NET_A, second, slug, 20_000)
      assertNetworkRefusal(await ticket(NET_A, await session(NET_A), slug, 1), NETWORK_QUOTA)

      // Another network, same campaign: its guests have their own budget.
      const elsewhere = await session(NET_B)
      await granted(NET_B, elsewhere, slug, PER_FILE)
      await granted(NET_B, elsewhere, slug, PER_FILE)
      assertNetworkRefusal(await ticket(NET_B, elsewhere, slug, 30_000), 80_000)
      // And the budget is per campaign: the same network in another campaign starts afresh.
      await granted(NET_A, second, await campaign(), PER_FILE)
    })

    it('a joined person on that network is not limited by it', async () => {
      const slug = await campaign()
      const guest = await session(NET_A)
      for (let i = 0; i < 2; i++) await granted(NET_A, guest, slug, PER_FILE)
      await granted(NET_A, guest, slug, 20_000)
      assertNetworkRefusal(await ticket(NET_A, guest, slug, 1), NETWORK_QUOTA)

      const joining = await session(NET_A)
      const joined = await call(NET_A, 'POST', '/api/user/register', {
        token: joining,
        body: { campaign: slug, email: `qa32e_${randomBytes(4).toString('hex')}@example.com`, name: 'Eve' },
      })
      assert.equal(joined.status, 201, JSON.stringify(joined.body))
      const person = joined.body.token as string
      for (let i = 0; i < 3; i++) await granted(NET_A, person, slug, PER_FILE)
      // Nor do the person's uploads use the guests' budget up.
      assertNetworkRefusal(await ticket(NET_A, await session(NET_A), slug, 1), NETWORK_QUOTA)
    })

    it('an upload that fails, or a URL deleted unused, gives its bytes back', async () => {
      const slug = await campaign()
      const guest = await session(NET_A)
      const failing = await granted(NET_A, guest, slug, PER_FILE)
      const cancelled = await granted(NET_A, guest, slug, PER_FILE)
      await granted(NET_A, guest, slug, 20_000)
      const next = await session(NET_A)
      assertNetworkRefusal(await ticket(NET_A, next, slug, PER_FILE), NETWORK_QUOTA)

      // A body of another size than declared fails the upload (size_mismatch): nothing is kept.
      const put = await call(NET_A, 'PUT', new URL(failing.upload_url, 'http://127.0.0.1').pathname, {
        raw: Buffer.alloc(1000),
        headers: { 'content-type': 'image/png' },
      })
      assert.equal(put.status, 400, JSON.stringify(put.body))
      assert.equal(put.body.error.code, 'UPLOAD_SIZE_MISMATCH')
      await granted(NET_A, next, slug, PER_FILE)
      assertNetworkRefusal(await ticket(NET_A, next, slug, PER_FILE), NETWORK_QUOTA)

      // Its uploader cancels an upload URL it has not used.
      const removed = await call(NET_A, 'DELETE', `/api/campaign/${slug}/media/${cancelled.media_id}`, {
        token: guest,
      })
      assert.ok(removed.status === 200 || removed.status === 204, JSON.stringify(removed.body))
      await granted(NET_A, next, slug, PER_FILE)
    })
  })
}

if (DIALECTS.includes('postgres')) {
  describe('media: the guest network budget is one across nodes (postgres)', () => {
    let first: TestContext
    let second: TestContext
    const env = { MEDIA_GUEST_NETWORK_QUOTA_BYTES: String(NETWORK_QUOTA), MEDIA_USER_QUOTA_BYTES: '1000000' }
    before(async () => {
      first = await buildTestApp({ dialect: 'postgres', env })
      second = await buildTestApp({ dialect: 'postgres', databaseUrl: first.databaseUrl, env })
    })
    after(async () => {
      await second?.close()
      await first?.close()
    })

    it('uploads through one node count in the budget another node checks', async () => {
      const [one, two] = [
        Number(new URL(await listenLocally(first.app)).port),
        Number(new URL(await listenLocally(second.app)).port),
      ]
      const slug = await createCampaign(first.app, {
        metadata: { custom_rules: { media_max_bytes: PER_FILE } },
      })
      const upload = async (port: number, size: number) => {
        const token = (await request(port, NET_A, 'POST', '/api/session')).body.token
        return request(port, NET_A, 'POST', `/api/${slug}/update`, {
          token,
          body: { action: 'upload_media', data: { filename: 'a.png', content_type: 'image/png', size } },
        })
      }
      assert.equal((await upload(one, PER_FILE)).status, 200)
      assert.equal((await upload(two, PER_FILE)).status, 200)
      const over = await upload(one, 30_000)
      assert.equal(over.status, 413, JSON.stringify(over.body))
      assert.equal(over.body.error.details.quota, 'guest_network')
      assert.equal(over.body.error.details.used_bytes, 2 * PER_FILE)
      assert.equal((await upload(two, 20_000)).status, 200)
      assert.equal((await upload(one, 1)).status, 413)
    })
  })
}
