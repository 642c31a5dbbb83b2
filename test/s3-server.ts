// An S3-compatible server for tests, on a real port: enough of the S3 REST API (path-style
// PutObject, GetObject with Range and response-* overrides, HeadObject, DeleteObject, and the
// multipart upload calls: Create, UploadPart, Complete, Abort) for the real S3 storage adapter
// and its presigned URLs to work end to end. Objects and unfinished uploads live in memory.
// Presigned URLs are checked as S3 checks them (SigV4, method included, expiry); the adapter's
// own signed requests are not. A completed upload is checked as S3 checks it (InvalidPart,
// InvalidPartOrder, EntityTooSmall). `intercept` lets a test fail or hold any call.
import { createHash, createHmac, randomUUID } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface S3Server {
  /** `http://127.0.0.1:{port}`, for `S3_ENDPOINT`. */
  endpoint: string
  /** The stored objects, by `{bucket}/{key}`. */
  objects: Map<string, { body: Buffer; contentType: string }>
  /** The multipart uploads begun and neither completed nor aborted, by UploadId. */
  uploads: Map<string, MultipartUpload>
  /** Every request's method, path (without the query) and S3 operation, in order. */
  requests: Array<{ method: string; path: string; action: S3Action }>
  /**
   * Called before each request is answered (its body read): answering `'fail'` makes it a 500
   * InternalError; a promise holds the request until it settles. Unset: every call is served.
   */
  intercept?: (call: S3Call) => 'fail' | undefined | Promise<'fail' | undefined>
  close(): Promise<void>
}

/** An upload begun by CreateMultipartUpload: its object's `{bucket}/{key}` and the parts sent. */
export interface MultipartUpload {
  path: string
  contentType: string
  parts: Map<number, { body: Buffer; etag: string }>
}

export type S3Action =
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'Unknown'

/** One request as `intercept` sees it. */
export interface S3Call {
  action: S3Action
  path: string
  partNumber?: number
  uploadId?: string
  /** The size of the payload sent (a part's or an object's bytes). */
  bytes: number
}

/** S3's smallest part, but for the last one of an upload. */
const MIN_PART_SIZE = 5 * 1024 * 1024

/** Which S3 operation a path-style request is. */
function actionOf(method: string, q: URLSearchParams): S3Action {
  if (method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload'
  if (method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload'
  if (method === 'PUT') return q.has('uploadId') ? 'UploadPart' : 'PutObject'
  if (method === 'DELETE') return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject'
  if (method === 'GET') return 'GetObject'
  if (method === 'HEAD') return 'HeadObject'
  return 'Unknown'
}

/** A body sent `aws-chunked` (`{hex size}[;ext]\r\n{bytes}\r\n` … `0\r\n{trailers}`), decoded. */
function unchunk(raw: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = raw.indexOf('\r\n', at)
    const size = Number.parseInt(raw.subarray(at, eol).toString().split(';')[0]!, 16)
    if (!size) return Buffer.concat(parts)
    parts.push(raw.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
}

/** RFC 3986 encoding, as SigV4 wants it in a canonical query. */
const rfc3986 = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text).digest()

/**
 * Why a presigned request is refused (as S3 refuses it: 403), or undefined when its signature,
 * made with `secret`, is right for this method, path, query and signed headers and has not expired.
 */
function presignRefusal(req: http.IncomingMessage, url: URL, secret: string): string | undefined {
  const q = url.searchParams
  const [, date, region, service] = (q.get('X-Amz-Credential') ?? '').split('/')
  const amzDate = q.get('X-Amz-Date') ?? ''
  const signed = (q.get('X-Amz-SignedHeaders') ?? '').split(';')
  const at = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'))
  if (!(Date.now() <= at + Number(q.get('X-Amz-Expires')) * 1000)) return 'Request has expired'
  const query = [...q.entries()]
    .filter(([key]) => key !== 'X-Amz-Signature')
    .map(([key, value]) => [rfc3986(key), rfc3986(value)])
    .sort(([a, x], [b, y]) => (a! < b! ? -1 : a! > b! ? 1 : x! < y! ? -1 : 1))
    .map(([key, value]) => `${key}=${value}`)
    .join('&')
  const headers = signed.map((name) => `${name}:${String(req.headers[name] ?? '').trim()}\n`).join('')
  const canonical = [req.method, url.pathname, query, headers, signed.join(';'), 'UNSIGNED-PAYLOAD'].join(
    '\n',
  )
  const scope = `${date}/${region}/${service}/aws4_request`
  const toSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n')
  let key: Buffer = hmac(`AWS4${secret}`, date!)
  for (const part of [region!, service!, 'aws4_request']) key = hmac(key, part)
  return hmac(key, toSign).toString('hex') === q.get('X-Amz-Signature') ? undefined : 'SignatureDoesNotMatch'
}

function notFound(res: http.ServerResponse, key: string) {
  res.writeHead(404, { 'content-type': 'application/xml' })
  res.end(`<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Key>${key}</Key></Error>`)
}

function s3Error(res: http.ServerResponse, status: number, code: string, message = code) {
  res.writeHead(status, { 'content-type': 'application/xml' })
  res.end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`)
}

/** The parts a CompleteMultipartUpload body lists, in its order. */
function listedParts(xml: string): Array<{ partNumber: number; etag: string }> {
  return [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(([, part]) => ({
    partNumber: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(part!)?.[1]),
    etag: (/<ETag>([^<]*)<\/ETag>/.exec(part!)?.[1] ?? '').replaceAll('&quot;', '"'),
  }))
}

/**
 * The object a CompleteMultipartUpload makes of `upload`'s parts as `xml` lists them, or the
 * error S3 answers: InvalidPart (a part not sent, or with another ETag), InvalidPartOrder (not
 * ascending), EntityTooSmall (a part but the last under 5 MiB).
 */
function assemble(upload: MultipartUpload, xml: string): Buffer | { code: string } {
  const listed = listedParts(xml)
  if (listed.length === 0) return { code: 'MalformedXML' }
  const bodies: Buffer[] = []
  for (const [i, { partNumber, etag }] of listed.entries()) {
    if (i > 0 && partNumber <= listed[i - 1]!.partNumber) return { code: 'InvalidPartOrder' }
    const part = upload.parts.get(partNumber)
    if (!part || part.etag !== etag) return { code: 'InvalidPart' }
    if (i < listed.length - 1 && part.body.length < MIN_PART_SIZE) return { code: 'EntityTooSmall' }
    bodies.push(part.body)
  }
  return Buffer.concat(bodies)
}

/** What a request body sent `aws-chunked` (as the SDK streams it) carries. */
function payloadOf(req: http.IncomingMessage, raw: Buffer): Buffer {
  const chunked =
    String(req.headers['content-encoding'] ?? '').includes('aws-chunked') ||
    String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-')
  return chunked ? unchunk(raw) : raw
}

const md5 = (bytes: Buffer) => `"${createHash('md5').update(bytes).digest('hex')}"`

/** Starts the server; presigned URLs must be signed with `secret`. */
/** The settings that point the app's S3 storage at `s3` (started with the secret `test-secret`). */
export const s3StorageEnv = (s3: Pick<S3Server, 'endpoint'>) => ({
  S3_BUCKET: 'media',
  S3_ENDPOINT: s3.endpoint,
  S3_FORCE_PATH_STYLE: 'true',
  S3_REGION: 'us-east-1',
  S3_ACCESS_KEY_ID: 'test-key',
  S3_SECRET_ACCESS_KEY: 'test-secret',
})

export async function startS3Server(secret: string): Promise<S3Server> {
  const objects = new Map<string, { body: Buffer; contentType: string }>()
  const uploads = new Map<string, MultipartUpload>()
  const requests: S3Server['requests'] = []
  const self: S3Server = {
    endpoint: '',
    objects,
    uploads,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://s3')
    const path = decodeURIComponent(url.pathname.slice(1))
    const q = url.searchParams
    const action = actionOf(req.method!, q)
    requests.push({ method: req.method!, path, action })
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks)
    const payload = payloadOf(req, raw)
    const uploadId = q.get('uploadId') ?? undefined
    const partNumber = q.has('partNumber') ? Number(q.get('partNumber')) : undefined
    if ((await self.intercept?.({ action, path, partNumber, uploadId, bytes: payload.length })) === 'fail') {
      return s3Error(res, 500, 'InternalError', 'We encountered an internal error. Please try again.')
    }
    const object = objects.get(path)
    const refusal = url.searchParams.has('X-Amz-Signature') ? presignRefusal(req, url, secret) : undefined
    if (refusal) {
      res.writeHead(403, { 'content-type': 'application/xml' })
      return res.end(
        `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>${refusal}</Message></Error>`,
      )
    }
    // A part, completion or abort names an upload that must still be open, for this key.
    const upload = uploadId === undefined ? undefined : uploads.get(uploadId)
    if (uploadId !== undefined && upload?.path !== path) return s3Error(res, 404, 'NoSuchUpload')
    switch (action) {
      case 'CreateMultipartUpload': {
        const id = randomUUID()
        uploads.set(id, {
          path,
          contentType: req.headers['content-type'] ?? 'binary/octet-stream',
          parts: new Map(),
        })
        const [bucket, ...key] = path.split('/')
        res.writeHead(200, { 'content-type': 'application/xml' })
        return res.end(
          `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key.join('/')}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
        )
      }
      case 'UploadPart': {
        if (!(partNumber! >= 1 && partNumber! <= 10_000)) return s3Error(res, 400, 'InvalidArgument')
        const etag = md5(payload)
        upload!.parts.set(partNumber!, { body: payload, etag })
        res.writeHead(200, { etag })
        return res.end()
      }
      case 'CompleteMultipartUpload': {
        const assembled = assemble(upload!, raw.toString())
        if (!Buffer.isBuffer(assembled)) return s3Error(res, 400, assembled.code)
        objects.set(path, { body: assembled, contentType: upload!.contentType })
        uploads.delete(uploadId!)
        res.writeHead(200, { 'content-type': 'application/xml' })
        return res.end(
          `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Key>${path}</Key><ETag>"${upload!.parts.size}"</ETag></CompleteMultipartUploadResult>`,
        )
      }
      case 'AbortMultipartUpload':
        uploads.delete(uploadId!)
        res.writeHead(204)
        return res.end()
      case 'PutObject': {
        objects.set(path, {
          body: payload,
          contentType: req.headers['content-type'] ?? 'binary/octet-stream',
        })
        res.writeHead(200, { etag: `"${objects.size}"` })
        return res.end()
      }
      case 'DeleteObject':
        objects.delete(path)
        res.writeHead(204)
        return res.end()
      case 'HeadObject':
      case 'GetObject': {
        if (!object) return notFound(res, path)
        const headers: Record<string, string | number> = {
          'content-type': url.searchParams.get('response-content-type') ?? object.contentType,
          'accept-ranges': 'bytes',
          etag: '"object"',
        }
        const disposition = url.searchParams.get('response-content-disposition')
        if (disposition) headers['content-disposition'] = disposition
        const cacheControl = url.searchParams.get('response-cache-control')
        if (cacheControl) headers['cache-control'] = cacheControl
        const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
        if (range) {
          const start = Number(range[1])
          const end = Math.min(Number(range[2]), object.body.length - 1)
          headers['content-range'] = `bytes ${start}-${end}/${object.body.length}`
          headers['content-length'] = end - start + 1
          res.writeHead(206, headers)
          return res.end(req.method === 'GET' ? object.body.subarray(start, end + 1) : undefined)
        }
        headers['content-length'] = object.body.length
        res.writeHead(200, headers)
        return res.end(req.method === 'GET' ? object.body : undefined)
      }
    }
    res.writeHead(501, { 'content-type': 'application/xml' })
    res.end('<?xml version="1.0"?><Error><Code>NotImplemented</Code></Error>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  self.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return self
}
