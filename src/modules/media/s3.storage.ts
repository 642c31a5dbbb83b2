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

  function open(key: string, contentType: string): StorageWrite {
    let chunks: Buffer[] = []
    let buffered = 0
    let uploadId: string | undefined
    const parts: Array<{ ETag?: string; PartNumber: number }> = []
    let done = false

    async function sendPart() {
      if (!uploadId) {
        const created = await client.send(
          new CreateMultipartUploadCommand({ Bucket, Key: key, ContentType: contentType }),
        )
        uploadId = created.UploadId
      }
      const body = Buffer.concat(chunks, buffered)
      chunks = []
      buffered = 0
      const PartNumber = parts.length + 1
      const res = await client.send(
        new UploadPartCommand({ Bucket, Key: key, UploadId: uploadId, PartNumber, Body: body }),
      )
      parts.push({ ETag: res.ETag, PartNumber })
    }

    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk)
        buffered += chunk.length
        if (buffered < PART_SIZE) return cb()
        sendPart().then(() => cb(), cb)
      },
      final(cb) {
        const finish = async () => {
          if (!uploadId) {
            await client.send(
              new PutObjectCommand({
                Bucket,
                Key: key,
                ContentType: contentType,
                Body: Buffer.concat(chunks),
              }),
            )
          } else {
            if (buffered > 0) await sendPart()
            await client.send(
              new CompleteMultipartUploadCommand({
                Bucket,
                Key: key,
                UploadId: uploadId,
                MultipartUpload: { Parts: parts },
              }),
            )
          }
          done = true
        }
        finish().then(() => cb(), cb)
      },
    })

    return {
      stream,
      async commit() {
        if (!done) throw new Error('S3 upload was not finished')
      },
      async abort() {
        stream.destroy()
        chunks = []
        if (uploadId && !done) {
          await client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: uploadId }))
        }
        if (done) await client.send(new DeleteObjectCommand({ Bucket, Key: key }))
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
      } catch {
        return undefined
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
