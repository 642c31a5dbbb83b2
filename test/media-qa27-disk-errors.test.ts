import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import { ulid } from 'ulid'
import { createDiskStorage } from '../src/modules/media/disk.storage.js'
import type { MediaRow } from '../src/modules/media/media.repo.js'
import { mediaRoutes } from '../src/modules/media/media.routes.js'
import type { MediaService } from '../src/modules/media/media.service.js'
import { registerErrorHandler } from '../src/platform/http/error-handler.js'
import { ErrorResponse } from '../src/platform/http/schemas.js'

/**
 * A media whose file the disk will not give (an I/O error, a broken mount, a symlink loop) was
 * answered 404 MEDIA_NOT_FOUND, as if it had been deleted: a CDN or a client then forgot a media
 * that is still there. Only a file that is not there is 404; any other failure is 503
 * STORAGE_UNAVAILABLE, to be tried again.
 */
describe('serving a media the disk fails to read', () => {
  let app: FastifyInstance
  let dir: string
  const row = (id: string) =>
    ({
      id,
      status: 'ready',
      filename: 'a.png',
      content_type: 'image/png',
      storage_key: `c/${id}/original`,
      thumbnail_key: null,
      sha256: 'ab'.repeat(32),
      updated_at: new Date(),
    }) as MediaRow
  const looped = ulid()
  const missing = ulid()

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ovasabi-disk-errors-'))
    const storage = createDiskStorage(dir)
    // A file whose stat fails with ELOOP: it links to itself.
    const out = await storage.open(`c/${looped}/original`, 'image/png')
    out.stream.end(Buffer.alloc(10))
    await new Promise((r) => out.stream.once('finish', r))
    await out.commit()
    const path = join(dir, 'c', looped, 'original')
    rmSync(path)
    symlinkSync(path, path)
    const media = { get: async (id: string) => row(id), storage } as unknown as MediaService
    app = Fastify()
    app.addSchema(ErrorResponse)
    registerErrorHandler(app)
    app.decorate('authenticate', async () => {})
    app.decorate('requireRole', () => async () => {})
    await app.register(mediaRoutes, { media, campaigns: { get: async () => ({}) as never }, maxBytes: 1024 })
    await app.ready()
  })
  after(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('is 503 STORAGE_UNAVAILABLE, not a 404 saying it is gone', async () => {
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await app.inject({ method, url: `/media/${looped}` })
      assert.equal(res.statusCode, 503, `${method}: ${res.body}`)
      if (method === 'GET') assert.equal(res.json().error.code, 'STORAGE_UNAVAILABLE')
    }
  })

  it('is still 404 MEDIA_NOT_FOUND for a file that is not there', async () => {
    const res = await app.inject({ method: 'GET', url: `/media/${missing}` })
    assert.equal(res.statusCode, 404, res.body)
    assert.equal(res.json().error.code, 'MEDIA_NOT_FOUND')
  })
})
