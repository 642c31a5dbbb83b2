import { type Readable, Writable } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { StorageAdapter, StorageWrite } from './storage.js'

/** What the bucket answers a presigned read with (see `directUrl`). */
const OBJECT_CACHE_CONTROL = 'private, no-cache'
/** S3 wants parts of at least 5 MiB (but the last); 8 MiB bounds memory per upload. */
const PART_SIZE = 8 * 1024 * 1024

export interface S3StorageOptions {
  bucket: string
  region: string
  endpoint?: string
  accessKeyId?: string
  secretAccessKey?: string
  forcePathStyle: boolean
}

/**
 * Media in an S3-compatible bucket. Uploads stream through in multipart parts (one part of
 * memory at a time; a small object is one PutObject); reads are presigned GET URLs, so the
 * bucket serves bytes and ranges itself.
 */
export function createS3Storage(opts: S3StorageOptions): StorageAdapter {
  const client = new S3Client({
    region: opts.region,
    endpoint: opts.endpoint,
    forcePathStyle: opts.forcePathStyle,
    credentials:
      opts.accessKeyId && opts.secretAccessKey
        ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey }
        : undefined,
  })
  const Bucket = opts.bucket

  /**
   * One object being written. Bucket requests go one at a time, in order (a part, then the next;
   * the completion after the last). `abort()` (or the stream failing) waits for the request in
   * flight before dropping what it made: a multipart upload created, or a part sent, after an
   * abort that did not wait would stay in the bucket unfinished, billed and never listed.
   */
  function open(key: string, contentType: string): StorageWrite {
    /** Bytes received and not yet sent: a part is cut only once more bytes follow it. */
    let chunks: Buffer[] = []
    let buffered = 0
    let uploadId: string | undefined
    const parts: Array<{ ETag?: string; PartNumber: number }> = []
    /** The object is in the bucket (PutObject or CompleteMultipartUpload answered). */
    let stored = false
    /** The request in flight, settled or not; never rejects. */
    let inFlight: Promise<unknown> = Promise.resolve()
    let dropped: Promise<void> | undefined

    /**
     * Sends `request` once the one in flight has ended, unless the write was given up meanwhile.
     * What a request learns (upload id, part, stored) is recorded in it, before it settles, so a
     * `drop()` waiting on it sees it.
     */
    const step = (request: () => Promise<void>): Promise<void> => {
      const next = inFlight.then(() => {
        if (dropped || stream.destroyed) throw new Error('S3 upload was aborted')
        return request()
      })
      inFlight = next.catch(() => {})
      return next
    }

    /** Takes up to `size` buffered bytes (all when undefined). */
    function take(size = buffered): Buffer {
      const all = Buffer.concat(chunks, buffered)
      // Copied: what is kept must not hold the whole buffer (a part) in memory.
      const rest = Buffer.from(all.subarray(size))
      chunks = rest.length > 0 ? [rest] : []
      buffered = rest.length
      return all.subarray(0, size)
    }

    async function sendPart(body: Buffer) {
      if (!uploadId) {
        await step(async () => {
          const created = await client.send(
            new CreateMultipartUploadCommand({ Bucket, Key: key, ContentType: contentType }),
          )
          if (!created.UploadId) throw new Error('S3 answered CreateMultipartUpload without an UploadId')
          uploadId = created.UploadId
        })
      }
      await step(async () => {
        const PartNumber = parts.length + 1
        const res = await client.send(
          new UploadPartCommand({ Bucket, Key: key, UploadId: uploadId, PartNumber, Body: body }),
        )
        parts.push({ ETag: res.ETag, PartNumber })
      })
    }

    /**
     * Drops what the write left in the bucket (an unfinished upload, or the object), once the
     * request in flight has ended. Once: a second call answers the first one's promise.
     */
    function drop(): Promise<void> {
      dropped ??= (async () => {
        await inFlight
        if (stored) await client.send(new DeleteObjectCommand({ Bucket, Key: key }))
        else if (uploadId) {
          await client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: uploadId }))
        }
      })()
      return dropped
    }

    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk)
        buffered += chunk.length
        // Exactly 8 MiB is still one PutObject; 8 MiB and a byte, a part and a last part.
        const sendFull = async () => {
          while (buffered > PART_SIZE) await sendPart(take(PART_SIZE))
        }
        sendFull().then(() => cb(), cb)
      },
      final(cb) {
        const finish = async () => {
          if (!uploadId) {
            const Body = take()
            await step(async () => {
              await client.send(new PutObjectCommand({ Bucket, Key: key, ContentType: contentType, Body }))
              stored = true
            })
            return
          }
          if (buffered > 0) await sendPart(take())
          await step(async () => {
            await client.send(
              new CompleteMultipartUploadCommand({
                Bucket,
                Key: key,
                UploadId: uploadId,
                MultipartUpload: { Parts: parts },
              }),
            )
            stored = true
          })
        }
        finish().then(() => cb(), cb)
      },
      destroy(err, cb) {
        chunks = []
        // Failed or cut off before it was stored: nothing of it may stay in the bucket, even if
        // its owner never calls `abort()`. (A stream destroyed once finished keeps its object.)
        if (!stored) drop().catch(() => {})
        cb(err)
      },
    })

    return {
      stream,
      async commit() {
        if (!stored) throw new Error('S3 upload was not finished')
      },
      async abort() {
        stream.destroy()
        await drop()
      },
    }
  }

  return {
    kind: 's3',
    open: async (key, contentType) => open(key, contentType),
    async read(key, range) {
      const res = await client.send(
        new GetObjectCommand({
          Bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      )
      return res.Body as Readable
    },
    async size(key) {
      try {
        return (await client.send(new HeadObjectCommand({ Bucket, Key: key }))).ContentLength
      } catch (err) {
        // A 404 is an object not there; any other failure is the bucket's (as the disk's `size`).
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return undefined
        throw err
      }
    },
    async remove(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }))
    },
    directUrl(key, { contentType, disposition, method }) {
      const object = {
        Bucket,
        Key: key,
        ResponseContentType: contentType,
        ResponseContentDisposition: disposition,
        // As the disk route's `public, no-cache`, but kept by the browser only: a CDN in front of
        // the bucket must not go on serving a media after its takedown or erasure.
        ResponseCacheControl: OBJECT_CACHE_CONTROL,
      }
      // The method is part of what is signed: a HEAD sent to a URL signed for GET is refused (403).
      const command = method === 'HEAD' ? new HeadObjectCommand(object) : new GetObjectCommand(object)
      return getSignedUrl(client, command, { expiresIn: 300 })
    },
  }
}
