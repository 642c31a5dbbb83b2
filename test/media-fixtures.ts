// The media service on its own (no routes in front of it), and what its upload tests look at.
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createDiskStorage } from '../src/modules/media/disk.storage.js'
import { createMediaService, type MediaService } from '../src/modules/media/media.service.js'
import { createUploadSigner } from '../src/modules/media/signing.js'
import type { Campaign } from '../src/modules/campaign/campaign.schema.js'
import type { Principal } from '../src/platform/auth/principal.js'
import type { Db } from '../src/platform/db/database.js'
import type { FastifyInstance } from 'fastify'
import { after, before } from 'node:test'
import {
  buildTestApp,
  createCampaign,
  type Dialect,
  guestToken,
  JWT_SECRET,
  json,
  listenLocally,
  sendAction,
  type TestContext,
} from './helper.js'

/** The names of the files below `dir` (none when it does not exist). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
}

/**
 * A media service on the database of `ctx`, keeping its files in `dir` on disk, signing as the
 * test apps do and publishing nowhere; `deps` replaces any of that.
 */
export function standaloneMedia(
  ctx: TestContext,
  dir: string,
  deps: Partial<Parameters<typeof createMediaService>[0]> = {},
): MediaService {
  return createMediaService({
    db: ctx.app.platform.database.db,
    storage: createDiskStorage(dir),
    signer: createUploadSigner(JWT_SECRET),
    publisher: { publish: async () => {} },
    campaigns: { find: async () => undefined },
    config: ctx.config,
    ...deps,
  })
}

/**
 * A server on a real port taking `PUT /upload/<token>` into `media.receive`, answering as the
 * route does (its result, or the error's code and message). `base` is its `http://…` origin.
 */
export async function uploadServer(media: MediaService) {
  const server = http.createServer((req, res) => {
    const token = req.url!.split('/').at(-1)!
    media.receive(token, req).then(
      (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (err) =>
        res
          .writeHead(err.statusCode ?? 500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: err.code, message: err.message })),
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    },
  }
}

/**
 * An upload URL on the `uploadServer` at `base` for `file`, reserved by `principal` on `campaign`
 * and committed as the `media.upload` action commits it.
 */
export async function reserveUpload(
  db: Db,
  media: MediaService,
  base: string,
  campaign: Campaign,
  principal: Principal,
  file: { filename: string; content_type: string },
) {
  const reservation = await media.prepare(campaign, principal, file)
  await db.transaction().execute((trx) => media.reservations.write(trx, [reservation], { counterShard: 0 }))
  const { media_id, upload_url } = reservation.ticket
  return { id: media_id, url: base + upload_url.replace(/^.*\/media\/upload\//, '/upload/') }
}

/**
 * A PUT of `length` bytes of `type` to `url` whose body the test writes (`req.write`, `req.end`);
 * `answer` is its status and JSON body.
 */
export function openPut(url: string, type: string, length: number) {
  const u = new URL(url)
  const req = http.request({
    host: u.hostname,
    port: u.port,
    path: u.pathname,
    method: 'PUT',
    headers: { 'content-type': type, 'content-length': length },
  })
  const answer = new Promise<{ status?: number; body: any }>((resolve, reject) => {
    req.on('error', reject)
    req.on('response', (r) => {
      const chunks: Buffer[] = []
      r.on('data', (c) => chunks.push(c))
      r.on('end', () => resolve({ status: r.statusCode, body: JSON.parse(Buffer.concat(chunks).toString()) }))
    })
  })
  return { req, answer }
}

/**
 * The `upload_media` action on campaign `slug`, sent with `headers` (a session's
 * `authorization`): its status and JSON body (`body.result` holds the upload URL when granted).
 */
export async function uploadTicket(
  app: FastifyInstance,
  slug: string,
  headers: Record<string, string>,
  data: Record<string, unknown>,
) {
  const res = await app.inject({
    method: 'POST',
    url: `/api/${slug}/update`,
    headers,
    payload: { action: 'upload_media', data },
  })
  return { status: res.statusCode, body: json(res) }
}

/** The row of media `id`, as it is now. */
export function mediaRow(db: Db, id: string) {
  return db.selectFrom('service_media_main').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

/**
 * The session of `token` uploads `file` as `type` to campaign `slug` of the app listening at
 * `base`, as a page does (`upload_media`, then a PUT of its bytes), and reads it back: the
 * upload's answer, and the bytes then served.
 */
export async function publishedUpload(
  app: FastifyInstance,
  base: string,
  slug: string,
  token: string,
  file: { bytes: Buffer; type: string; filename: string },
) {
  const t = await sendAction(app, slug, token, 'upload_media', {
    filename: file.filename,
    content_type: file.type,
    size: file.bytes.length,
  })
  assert.equal(t.statusCode, 200, t.body)
  const { upload_url, media_id } = json(t).result
  const res = await fetch(base + upload_url, { method: 'PUT', body: new Uint8Array(file.bytes) })
  const body = await res.json()
  assert.equal(res.status, 200, JSON.stringify(body))
  const served = await fetch(`${base}/media/${media_id}`)
  assert.equal(served.status, 200)
  return { body, media_id: media_id as string, served: Buffer.from(await served.arrayBuffer()) }
}

/** What a `mediaSuite` holds once its `before` ran. */
export interface MediaSuite {
  readonly ctx: TestContext
  /** `ctx.app`. */
  readonly app: FastifyInstance
  /** The app's `http://127.0.0.1:<port>` origin: it listens, for uploads and reads over HTTP. */
  readonly base: string
  /** The suite's campaign. */
  readonly slug: string
  /** A guest session's token, its id, and its `authorization` header. */
  readonly token: string
  readonly sessionId: string
  readonly auth: Record<string, string>
}

/**
 * Call inside a `describe`: before its tests, a test app on `dialect` (with `env`) listening on a
 * local port, a campaign made with `campaign` (all features on, by default), and a guest session;
 * after them, closes the app.
 */
export function mediaSuite(
  dialect: Dialect,
  options: { env?: Record<string, string>; campaign?: Parameters<typeof createCampaign>[1] } = {},
): MediaSuite {
  let ctx: TestContext | undefined
  let base = ''
  let slug = ''
  let guest = { token: '', session_id: '' }
  before(async () => {
    ctx = await buildTestApp({ dialect, env: options.env })
    base = await listenLocally(ctx.app)
    slug = await createCampaign(ctx.app, options.campaign)
    guest = await guestToken(ctx.app)
  })
  after(() => ctx?.close())
  return {
    get ctx() {
      if (!ctx) throw new Error('the suite has not started: use it inside a hook or a test')
      return ctx
    },
    get app() {
      return this.ctx.app
    },
    get base() {
      return base
    },
    get slug() {
      return slug
    },
    get token() {
      return guest.token
    },
    get sessionId() {
      return guest.session_id
    },
    get auth() {
      return { authorization: `Bearer ${guest.token}` }
    },
  }
}
