import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import sharp from 'sharp'
import { ulid } from 'ulid'
import { reservationWriter } from '../src/modules/media/media.quota.js'
import {
  adminHeaders,
  buildTestApp,
  createCampaign,
  DIALECTS,
  guestToken,
  type TestContext,
  listenLocally,
} from './helper.js'
import { filesUnder, uploadTicket } from './media-fixtures.js'

// Small numbers, so a few upload URLs reach them: each URL may bring up to PER_FILE bytes.
const USER_QUOTA = 100_000
const CAMPAIGN_QUOTA = 150_000
const PER_FILE = 40_000

for (const dialect of DIALECTS) {
  describe(`media storage quotas (${dialect})`, () => {
    let ctx: TestContext
    let base: string
    let png: Buffer

    before(async () => {
      ctx = await buildTestApp({
        dialect,
        env: {
          MEDIA_USER_QUOTA_BYTES: String(USER_QUOTA),
          MEDIA_CAMPAIGN_QUOTA_BYTES: String(CAMPAIGN_QUOTA),
          // Several commit batches in flight at once, so concurrent requests really race.
          COMMIT_CONCURRENCY: '8',
        },
      })
      base = await listenLocally(ctx.app)
      png = await sharp(randomBytes(64 * 64 * 3), { raw: { width: 64, height: 64, channels: 3 } })
        .png({ compressionLevel: 0 })
        .toBuffer()
      assert.ok(png.length < PER_FILE)
    })
    after(async () => ctx.close())

    const db = () => ctx.app.platform.database.db
    const campaign = () =>
      createCampaign(ctx.app, { metadata: { custom_rules: { media_max_bytes: PER_FILE } } })
    async function guest() {
      const { token, session_id } = await guestToken(ctx.app)
      return { authorization: `Bearer ${token}`, session_id }
    }
    const ticket = (auth: Record<string, string>, slug: string, data: Record<string, unknown> = {}) =>
      uploadTicket(
        ctx.app,
        slug,
        { authorization: auth.authorization! },
        { filename: 'a.png', content_type: 'image/png', ...data },
      )
    const granted = async (auth: Record<string, string>, slug: string, data?: Record<string, unknown>) => {
      const t = await ticket(auth, slug, data)
      assert.equal(t.status, 200, JSON.stringify(t.body))
      return t.body.result as { media_id: string; upload_url: string; max_bytes: number }
    }
    const remove = (auth: Record<string, string>, slug: string, id: string) =>
      ctx.app.inject({
        method: 'DELETE',
        url: `/api/campaign/${slug}/media/${id}`,
        headers: auth.authorization ? { authorization: auth.authorization } : auth,
      })

    it("refuses an upload URL over the uploader's quota, saying how much is left", async () => {
      const slug = await campaign()
      const me = await guest()
      assert.equal((await granted(me, slug)).max_bytes, PER_FILE)
      assert.equal((await granted(me, slug)).max_bytes, PER_FILE)
      // 20,000 bytes left: a file declared bigger is refused, with what is left in the answer.
      const over = await ticket(me, slug, { size: 30_000 })
      assert.equal(over.status, 413)
      assert.equal(over.body.error.code, 'STORAGE_QUOTA_EXCEEDED')
      assert.match(over.body.error.message, /left/)
      assert.deepEqual(over.body.error.details, {
        quota: 'uploader',
        limit_bytes: USER_QUOTA,
        used_bytes: 80_000,
        remaining_bytes: 20_000,
      })
      // A URL without a declared size gets what is left, and the ticket says so.
      assert.equal((await granted(me, slug)).max_bytes, 20_000)
      const full = await ticket(me, slug)
      assert.equal(full.status, 413)
      assert.equal(full.body.error.details.remaining_bytes, 0)
      // The quota is the uploader's, across campaigns; another uploader is not affected.
      assert.equal((await ticket(me, await campaign())).status, 413)
      assert.equal((await granted(await guest(), slug)).max_bytes, PER_FILE)
    })

    it("refuses an upload URL over the campaign's quota, whoever asks", async () => {
      const slug = await campaign()
      for (let i = 0; i < 3; i++) assert.equal((await granted(await guest(), slug)).max_bytes, PER_FILE)
      const last = await guest()
      assert.equal((await granted(last, slug)).max_bytes, CAMPAIGN_QUOTA - 3 * PER_FILE)
      const over = await ticket(last, slug)
      assert.equal(over.status, 413)
      assert.equal(over.body.error.details.quota, 'campaign')
      assert.equal(over.body.error.details.remaining_bytes, 0)
    })

    it('counts stored bytes, and frees them and open reservations on delete', async () => {
      const slug = await campaign()
      const me = await guest()
      const first = await granted(me, slug)
      const put = await fetch(base + first.upload_url, { method: 'PUT', body: new Uint8Array(png) })
      assert.equal(put.status, 200)
      const thumbnail = (await (await fetch(`${base}/media/${first.media_id}/thumbnail`)).arrayBuffer())
        .byteLength
      assert.ok(thumbnail > 0)
      // Stored: the file's size and its thumbnail's count, not the URL's max_bytes.
      const stored = png.length + thumbnail
      const pending = await granted(me, slug)
      assert.equal(pending.max_bytes, PER_FILE)
      assert.equal((await granted(me, slug)).max_bytes, PER_FILE)
      assert.equal((await granted(me, slug)).max_bytes, USER_QUOTA - stored - 2 * PER_FILE)
      const full = await ticket(me, slug)
      assert.equal(full.status, 413)
      assert.equal(full.body.error.details.used_bytes, USER_QUOTA)

      // Nobody else may delete it; its uploader may, and its bytes go with it.
      assert.equal((await remove(await guest(), slug, first.media_id)).statusCode, 403)
      assert.equal((await remove(me, await campaign(), first.media_id)).statusCode, 404)
      assert.equal((await remove(me, slug, first.media_id)).statusCode, 204)
      assert.equal((await fetch(`${base}/media/${first.media_id}`)).status, 404)
      assert.equal(filesUnder(join(ctx.config.MEDIA_DIR, slug, first.media_id)).length, 0)
      // Both files are freed.
      assert.equal((await granted(me, slug)).max_bytes, stored)

      // Deleting an unused upload URL frees its reservation and the URL stops working.
      assert.equal((await remove(me, slug, pending.media_id)).statusCode, 204)
      assert.equal(
        (await fetch(base + pending.upload_url, { method: 'PUT', body: new Uint8Array(png) })).status,
        404,
      )
      assert.equal((await granted(me, slug)).max_bytes, PER_FILE)
      // An editor may delete anyone's media.
      const theirs = await granted(await guest(), slug)
      assert.equal((await remove(adminHeaders, slug, theirs.media_id)).statusCode, 204)
    })

    it('refuses an upload whose original fits but not with its thumbnail, keeping nothing', async () => {
      const slug = await campaign()
      const me = await guest()
      // Another upload URL of the uploader's holds all but a few bytes more than the file.
      const other = await granted(me, slug)
      await db()
        .updateTable('service_media_main')
        .set({ max_bytes: USER_QUOTA - png.length - 100 })
        .where('id', '=', other.media_id)
        .execute()
      const tight = await granted(me, slug, { size: png.length })
      assert.equal(tight.max_bytes, png.length, 'the declared size is reserved: the original fits')
      const put = await fetch(base + tight.upload_url, { method: 'PUT', body: new Uint8Array(png) })
      const answer = await put.json()
      assert.equal(put.status, 413, JSON.stringify(answer))
      assert.equal(answer.error.code, 'STORAGE_QUOTA_EXCEEDED')
      assert.match(answer.error.message, /thumbnail/)
      assert.equal(answer.error.details.quota, 'uploader')
      assert.equal(answer.error.details.used_bytes, USER_QUOTA - png.length - 100)
      const row = await db()
        .selectFrom('service_media_main')
        .selectAll()
        .where('id', '=', tight.media_id)
        .executeTakeFirstOrThrow()
      assert.equal(row.status, 'failed')
      assert.equal(row.failure_reason, 'quota_exceeded')
      assert.deepEqual(filesUnder(join(ctx.config.MEDIA_DIR, slug, tight.media_id)), [])
      // With room for both, the same file is stored, and what it holds counts its thumbnail.
      await remove(me, slug, other.media_id)
      const roomy = await granted(me, slug)
      const ok = await fetch(base + roomy.upload_url, { method: 'PUT', body: new Uint8Array(png) })
      assert.equal(ok.status, 200)
      const thumbnail = (await (await fetch(`${base}/media/${roomy.media_id}/thumbnail`)).arrayBuffer())
        .byteLength
      assert.equal((await granted(me, slug)).max_bytes, PER_FILE)
      assert.equal((await granted(me, slug)).max_bytes, PER_FILE)
      assert.equal((await granted(me, slug)).max_bytes, USER_QUOTA - 2 * PER_FILE - png.length - thumbnail)
    })

    it('counts a photo as stored without its metadata, refusing it when that needs more room', async () => {
      const slug = await campaign()
      const me = await guest()
      // A coarse JPEG with a GPS position: stored again at a finer quality, it grows.
      const photo = await sharp(randomBytes(96 * 96 * 3), { raw: { width: 96, height: 96, channels: 3 } })
        .jpeg({ quality: 20 })
        .withExifMerge({ IFD3: { GPSMapDatum: 'WGS-84' } })
        .toBuffer()
      const jpeg = { filename: 'a.jpg', content_type: 'image/jpeg' }
      const roomy = await granted(me, slug, jpeg)
      const ok = await fetch(base + roomy.upload_url, { method: 'PUT', body: new Uint8Array(photo) })
      const stored = await ok.json()
      assert.equal(ok.status, 200, JSON.stringify(stored))
      const served = (await (await fetch(`${base}/media/${roomy.media_id}`)).arrayBuffer()).byteLength
      const thumbnail = (await (await fetch(`${base}/media/${roomy.media_id}/thumbnail`)).arrayBuffer())
        .byteLength
      assert.equal(stored.size, served)
      assert.ok(served > photo.length + 200, `${served} stored for ${photo.length} uploaded`)
      // What it holds is what is stored: the re-encoded original and its thumbnail.
      assert.equal((await granted(me, slug)).max_bytes, PER_FILE)
      assert.equal((await granted(me, slug)).max_bytes, PER_FILE)
      assert.equal((await granted(me, slug)).max_bytes, USER_QUOTA - 2 * PER_FILE - served - thumbnail)

      // Room for the file as uploaded and its thumbnail, not for it as it would be stored.
      const other = await guest()
      // The uploader's quota runs over every campaign: another one's URL holds all but `room`.
      const holder = await granted(other, await campaign())
      const room = photo.length + thumbnail + 100
      await db()
        .updateTable('service_media_main')
        .set({ max_bytes: USER_QUOTA - room })
        .where('id', '=', holder.media_id)
        .execute()
      const tight = await granted(other, slug, { ...jpeg, size: photo.length })
      assert.equal(tight.max_bytes, photo.length, 'the declared size is reserved')
      const put = await fetch(base + tight.upload_url, { method: 'PUT', body: new Uint8Array(photo) })
      const answer = await put.json()
      assert.equal(put.status, 413, JSON.stringify(answer))
      assert.equal(answer.error.code, 'STORAGE_QUOTA_EXCEEDED')
      assert.equal(answer.error.details.quota, 'uploader')
      const row = await db()
        .selectFrom('service_media_main')
        .selectAll()
        .where('id', '=', tight.media_id)
        .executeTakeFirstOrThrow()
      assert.equal(row.failure_reason, 'quota_exceeded')
      assert.deepEqual(filesUnder(join(ctx.config.MEDIA_DIR, slug, tight.media_id)), [])
    })

    it('does not count expired upload URLs, nor uploads a crashed process left in flight', async () => {
      const slug = await campaign()
      const me = await guest()
      const ids = [(await granted(me, slug)).media_id, (await granted(me, slug)).media_id]
      ids.push((await granted(me, slug)).media_id)
      assert.equal((await ticket(me, slug)).status, 413)
      const day = 24 * 60 * 60 * 1000
      const set = (id: string, patch: { status?: 'uploading'; upload_expires_at: Date; updated_at?: Date }) =>
        db().updateTable('service_media_main').set(patch).where('id', '=', id).execute()
      // An unused URL that expired holds nothing.
      await set(ids[0]!, { upload_expires_at: new Date(Date.now() - 1000) })
      assert.equal((await granted(me, slug)).max_bytes, PER_FILE)
      assert.equal((await ticket(me, slug)).status, 413)
      // An upload still arriving after its URL expired holds its bytes, even for more than a day
      // while its heartbeat writes its row; one with no sign of life for a day does not.
      await set(ids[1]!, { status: 'uploading', upload_expires_at: new Date(Date.now() - 60_000) })
      assert.equal((await ticket(me, slug)).status, 413)
      await set(ids[1]!, { status: 'uploading', upload_expires_at: new Date(Date.now() - day - 60_000) })
      assert.equal((await ticket(me, slug)).status, 413)
      await set(ids[1]!, {
        upload_expires_at: new Date(Date.now() - day - 60_000),
        updated_at: new Date(Date.now() - day - 60_000),
      })
      assert.equal((await granted(me, slug)).max_bytes, PER_FILE)
    })

    it('lets concurrent requests reserve no more than the quota between them', async () => {
      const me = await guest()
      const slugs = [await campaign(), await campaign()]
      // Racing on both of the uploader's campaigns: the uploader's lock, not only a campaign's.
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) => ticket(me, slugs[i % 2]!, { filename: `f${i}.png` })),
      )
      const ok = results.filter((r) => r.status === 200)
      const refused = results.filter((r) => r.status === 413)
      assert.equal(ok.length + refused.length, results.length, JSON.stringify(results.map((r) => r.status)))
      assert.ok(refused.every((r) => r.body.error.code === 'STORAGE_QUOTA_EXCEEDED'))
      const promised = ok.reduce((sum, r) => sum + r.body.result.max_bytes, 0)
      assert.equal(promised, USER_QUOTA, 'the URLs granted may bring exactly the quota, never more')
      const rows = await db()
        .selectFrom('service_media_main')
        .select('max_bytes')
        .where('campaign_slug', 'in', slugs)
        .execute()
      assert.equal(rows.length, ok.length)
      assert.equal(
        rows.reduce((sum, r) => sum + Number(r.max_bytes), 0),
        USER_QUOTA,
      )
    })

    // PGlite runs one transaction at a time on its one connection: only PostgreSQL can race.
    it('makes a request wait for a reservation still being committed', {
      skip: dialect !== 'postgres',
    }, async () => {
      const slug = await campaign()
      const me = await guest()
      await granted(me, slug)
      await granted(me, slug)
      const waiters = async () =>
        Number(
          (
            await sql<{ n: number }>`select count(*)::int as n from pg_locks where locktype = 'advisory'
              and not granted and database = (select oid from pg_database where datname = current_database())`.execute(
              db(),
            )
          ).rows[0]!.n,
        )
      let racer: Promise<{ status: number; body: any }> | undefined
      let racerDone = false
      // Another request's commit, held open after it reserved the last 20,000 bytes.
      await db()
        .transaction()
        .execute(async (trx) => {
          const id = ulid()
          const row = {
            id,
            campaign_slug: slug,
            owner_user_id: 'guest',
            owner_session_id: me.session_id!,
            status: 'pending' as const,
            filename: 'held.png',
            declared_type: 'image/png',
            max_bytes: PER_FILE,
            storage_key: `${slug}/${id}/original`,
            upload_expires_at: new Date(Date.now() + 600_000),
            metadata: {},
          }
          const held = { media_id: id, upload_url: '', expires_at: '', max_bytes: PER_FILE }
          await reservationWriter(ctx.config).write(trx, [{ row, ticket: held, limit: PER_FILE }], {
            counterShard: 0,
          })
          assert.equal(held.max_bytes, USER_QUOTA - 2 * PER_FILE)
          racer = ticket(me, slug)
          void racer.then(() => {
            racerDone = true
          })
          // Until the racer waits on the quota lock (or, were there none, got its answer).
          while (!racerDone && (await waiters()) === 0) await new Promise((r) => setTimeout(r, 10))
        })
      const res = await racer!
      assert.equal(res.status, 413, 'it saw the reservation committed while it waited')
      assert.equal(res.body.error.details.remaining_bytes, 0)
    })
  })
}
