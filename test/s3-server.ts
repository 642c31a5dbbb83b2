// An S3-compatible server for tests, on a real port: enough of the S3 REST API (path-style
// PutObject, GetObject with Range and response-* overrides, HeadObject, DeleteObject) for the
// real S3 storage adapter and its presigned URLs to work end to end. Objects live in memory.
// Presigned URLs are checked as S3 checks them (SigV4, method included, expiry); the adapter's
// own signed requests are not. Multipart uploads (objects over 8 MiB) are not supported.
import { createHash, createHmac } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface S3Server {
  /** `http://127.0.0.1:{port}`, for `S3_ENDPOINT`. */
  endpoint: string
  /** The stored objects, by `{bucket}/{key}`. */
  objects: Map<string, { body: Buffer; contentType: string }>
  /** Every request's method and path (without the query), in order. */
  requests: Array<{ method: string; path: string }>
  close(): Promise<void>
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

/** Starts the server; presigned URLs must be signed with `secret`. */
export async function startS3Server(secret: string): Promise<S3Server> {
  const objects = new Map<string, { body: Buffer; contentType: string }>()
  const requests: S3Server['requests'] = []
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://s3')
    const path = decodeURIComponent(url.pathname.slice(1))
    requests.push({ method: req.method!, path })
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks)
    const object = objects.get(path)
    const refusal = url.searchParams.has('X-Amz-Signature') ? presignRefusal(req, url, secret) : undefined
    if (refusal) {
      res.writeHead(403, { 'content-type': 'application/xml' })
      return res.end(
        `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>${refusal}</Message></Error>`,
      )
    }
    switch (req.method) {
      case 'PUT': {
        if (url.searchParams.has('uploadId')) break
        const chunked =
          String(req.headers['content-encoding'] ?? '').includes('aws-chunked') ||
          String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-')
        objects.set(path, {
          body: chunked ? unchunk(raw) : raw,
          contentType: req.headers['content-type'] ?? 'binary/octet-stream',
        })
        res.writeHead(200, { etag: `"${objects.size}"` })
        return res.end()
      }
      case 'DELETE':
        objects.delete(path)
        res.writeHead(204)
        return res.end()
      case 'HEAD':
      case 'GET': {
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
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objects,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
