import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, afterEach, before, describe, it } from 'node:test'
import { createS3Storage } from '../src/modules/media/s3.storage.js'
import type { StorageAdapter } from '../src/modules/media/storage.js'
import { waitUntil } from './realtime/client.js'
import { type S3Action, type S3Server, startS3Server } from './s3-server.js'

/**
 * `abort()` of an S3 write leaves nothing in the bucket whatever is in flight when it is called:
 * a multipart upload created after it, or a part sent meanwhile, would otherwise stay there
 * unfinished (billed storage, invisible to the bucket's listing) until a lifecycle rule drops it.
 */

const PART = 8 * 1024 * 1024

describe('aborting an S3 write while a request is in flight', () => {
  let s3: S3Server
  let storage: StorageAdapter

  before(async () => {
    s3 = await startS3Server('test-secret')
    storage = createS3Storage({
      bucket: 'media',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      accessKeyId: 'test-key',
      secretAccessKey: 'test-secret',
      forcePathStyle: true,
    })
  })
  afterEach(() => {
    s3.intercept = undefined
  })
  after(async () => s3.close())

  /** Holds the first `action` request until `release()`; `reached` says when it arrived. */
  function hold(action: S3Action) {
    let release!: () => void
    const released = new Promise<undefined>((r) => {
      release = () => r(undefined)
    })
    let reached = false
    s3.intercept = (call) => {
      if (call.action !== action || reached) return undefined
      reached = true
      return released
    }
    return { release, reached: () => reached }
  }

  /** Writes 8 MiB + `extra` bytes (a first part and more) to a new write of `key`. */
  async function writing(key: string, extra: number) {
    const write = await storage.open(key, 'application/pdf')
    // What a destroyed stream says is for `abort()` to deal with, not an unhandled error.
    write.stream.on('error', () => {})
    write.stream.write(randomBytes(PART))
    write.stream.write(randomBytes(extra))
    return write
  }

  const leftFor = (key: string) => ({
    objects: [...s3.objects.keys()].filter((k) => k.endsWith(key)),
    uploads: [...s3.uploads.values()].filter((u) => u.path.endsWith(key)).length,
  })

  for (const [action, extra] of [
    ['CreateMultipartUpload', 1],
    ['UploadPart', 1],
    // The second part goes while the first is held: it must not overtake it.
    ['UploadPart', PART + 1],
  ] as const) {
    it(`leaves nothing when ${action} is in flight (${PART + extra} bytes written)`, async () => {
      const key = `c/${action}-${extra}/original`
      const held = hold(action)
      const write = await writing(key, extra)
      await waitUntil(held.reached, 10_000, action)
      const aborted = write.abort()
      held.release()
      await aborted
      assert.deepEqual(leftFor(key), { objects: [], uploads: 0 })
      // Nothing was sent after the abort: no part went to an upload that was being dropped.
      const calls = s3.requests.filter((r) => r.path.endsWith(key)).map((r) => r.action)
      assert.equal(calls.filter((c) => c === 'UploadPart').length <= 1, true, calls.join())
      assert.equal(calls.at(-1), 'AbortMultipartUpload', calls.join())
    })
  }

  it('leaves nothing when CompleteMultipartUpload is in flight', async () => {
    const key = 'c/complete/original'
    const held = hold('CompleteMultipartUpload')
    const write = await writing(key, 1)
    write.stream.end()
    await waitUntil(held.reached, 10_000, 'CompleteMultipartUpload')
    const aborted = write.abort()
    held.release()
    await aborted
    assert.deepEqual(leftFor(key), { objects: [], uploads: 0 })
  })

  it('drops its upload when a part fails, even before abort() is called', async () => {
    const key = 'c/failed-part/original'
    s3.intercept = ({ action, partNumber }) =>
      action === 'UploadPart' && partNumber === 2 ? 'fail' : undefined
    const write = await storage.open(key, 'application/pdf')
    const failed = new Promise((resolve) => write.stream.on('error', resolve))
    write.stream.write(randomBytes(2 * PART + 1))
    assert.match(String(await failed), /internal error/i)
    await waitUntil(() => leftFor(key).uploads === 0, 10_000, 'the upload aborted')
    assert.ok(s3.requests.some((r) => r.path.endsWith(key) && r.action === 'AbortMultipartUpload'))
    // abort() after that is harmless: nothing more to drop, no error.
    await write.abort()
    assert.deepEqual(leftFor(key), { objects: [], uploads: 0 })
  })

  it('sends parts one at a time, in order, each but the last 8 MiB', async () => {
    const key = 'c/ordered/original'
    const sizes: number[] = []
    const numbers: Array<number | undefined> = []
    let inFlight = 0
    let most = 0
    s3.intercept = async (call) => {
      if (call.action !== 'UploadPart') return undefined
      sizes.push(call.bytes)
      numbers.push(call.partNumber)
      inFlight++
      most = Math.max(most, inFlight)
      // Long enough for a second part to be sent meanwhile, were parts sent concurrently.
      await new Promise((r) => setTimeout(r, 50))
      inFlight--
      return undefined
    }
    const write = await storage.open(key, 'application/pdf')
    const bytes = randomBytes(3 * PART + 5)
    // Chunks that do not fall on part boundaries, written without waiting.
    for (let at = 0; at < bytes.length; at += 3_000_001)
      write.stream.write(bytes.subarray(at, at + 3_000_001))
    write.stream.end()
    await new Promise((resolve, reject) => write.stream.on('finish', resolve).on('error', reject))
    await write.commit()
    assert.equal(most, 1)
    assert.ok(s3.objects.get(`media/${key}`)!.body.equals(bytes))
    for (const upload of s3.uploads.values()) assert.ok(!upload.path.endsWith(key))
    assert.deepEqual(sizes, [PART, PART, PART, 5])
    assert.deepEqual(numbers, [1, 2, 3, 4])
  })
})
