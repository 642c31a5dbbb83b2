import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import { ulid } from 'ulid'
import { createDiskStorage } from '../src/modules/media/disk.storage.js'
import type { MediaRow } from '../src/modules/media/media.repo.js'
import { mediaRoutes } from '../src/modules/media/media.routes.js'
import type { MediaService } from '../src/modules/media/media.service.js'
import type { StorageAdapter } from '../src/modules/media/storage.js'
import { ErrorResponse } from '../src/platform/http/schemas.js'

/** The media routes over a fake service whose disk storage counts the reads. */
describe('HEAD on media', () => {
  let app: FastifyInstance
  let dir: string
  const reads: string[] = []
  const id = ulid()
  const bytes = Buffer.alloc(256 * 1024, 7)

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ovasabi-head-'))
    const disk = createDiskStorage(dir)
    const storage: StorageAdapter = {
      ...disk,
      read: (key, range) => {
        reads.push(key)
        return disk.read(key, range)
      },
    }
    for (const key of [`c/${id}/original`, `c/${id}/thumbnail.webp`]) {
      const out = await storage.open(key, 'image/png')
      out.stream.end(bytes)
      await new Promise((r) => out.stream.once('finish', r))
      await out.commit()
    }
    const row = {
      id,
      status: 'ready',
      filename: 'a.png',
      content_type: 'image/png',
      storage_key: `c/${id}/original`,
      thumbnail_key: `c/${id}/thumbnail.webp`,
      sha256: 'ab'.repeat(32),
      updated_at: new Date(),
    } as MediaRow
    const media = {
      get: async () => row,
      storage,
      sweep: async () => ({ interrupted: 0, partials: 0 }),
    } as unknown as MediaService
    app = Fastify()
    app.addSchema(ErrorResponse)
    app.decorate('authenticate', async () => {})
    app.decorate('requireRole', () => async () => {})
    await app.register(mediaRoutes, { media, campaigns: { get: async () => ({}) as never }, maxBytes: 1024 })
    await app.ready()
  })
  after(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers with the headers only, without reading the file', async () => {
    for (const url of [`/media/${id}`, `/media/${id}/thumbnail`]) {
      const head = await app.inject({ method: 'HEAD', url })
      assert.equal(head.statusCode, 200)
      assert.equal(head.headers['content-length'], String(bytes.length))
      assert.equal(head.rawPayload.length, 0)
    }
    assert.deepEqual(reads, [], 'HEAD read no file')
    // A GET still reads and sends it.
    const get = await app.inject({ method: 'GET', url: `/media/${id}` })
    assert.equal(get.statusCode, 200)
    assert.ok(get.rawPayload.equals(bytes))
    assert.deepEqual(reads, [`c/${id}/original`])
  })
})
