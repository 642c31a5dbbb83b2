import type { TSchema } from 'typebox'

/**
 * Caches (browsers, CDNs) keep a media but ask before each use: a ready media never changes, yet it
 * may be deleted (a moderation takedown, an erasure), and then it must stop being served at once,
 * not when a year-long (or hour-long) freshness runs out. Asking is cheap: the ETag and
 * Last-Modified sent make it a 304 without the bytes.
 */
export const CACHE_CONTROL = 'public, no-cache'

/** An error answer of a file route (404 above all: the media may be ready a moment later). */
export const NOT_STORED = 'no-store'

/**
 * The redirect to a presigned storage URL (S3). Its `Location` stops working when the signature
 * expires (5 min), and a redirect kept by a cache past that sends every client to a 403. A
 * `max-age` below the expiry would not be enough: a browser may take the redirect from a CDN late
 * in its life and keep it for its own full max-age, and a stored redirect would also go on
 * pointing at a media after its takedown. Signing a fresh URL costs one round trip to us, so
 * nothing keeps it: `no-store`, and `private` for the shared caches that heed only that.
 */
export const REDIRECT_CACHE_CONTROL = 'private, no-store'

/** One header of a response in the OpenAPI document. */
const header = (description: string, schema: Record<string, unknown> = { type: 'string' }) => ({
  ...schema,
  description,
})

const Validators = {
  'cache-control': header(`\`${CACHE_CONTROL}\`: caches may keep the file but revalidate it before each use`),
  etag: header("The stored file's SHA-256 (thumbnail: suffixed `-thumb`); send it back in `If-None-Match`"),
  'last-modified': header('When the media became ready; sent back in `If-Modified-Since`'),
}
const NotStored = { 'cache-control': header(`\`${NOT_STORED}\`: an error is never kept by a cache`) }
const ErrorRef = { $ref: 'ErrorResponse#' }
/** The file's bytes, of the media's own type. */
const AnyType = { '*/*': { schema: { type: 'string', format: 'binary' } } }

/**
 * The answers of `GET`/`HEAD /media/{id}` and `…/thumbnail`, with the headers that make up their
 * cache policy, for the OpenAPI document.
 */
export const FileResponses: Record<number, TSchema> = {
  200: {
    content: AnyType,
    description:
      'The whole file: no `Range`, a `Range` in another unit or under an `If-Range` that names ' +
      'another version, or several ranges of which one at least is satisfiable (answered in ' +
      'full). `HEAD`: its headers only.',
    headers: {
      ...Validators,
      'accept-ranges': header('`bytes`'),
      'content-length': header('Bytes of the file', { type: 'integer' }),
      'content-disposition': header(
        '`inline` for images, video and audio, else `attachment`, with the file name',
      ),
    },
  },
  206: {
    content: AnyType,
    description: 'The one byte range asked for (`GET` with a single satisfiable range).',
    headers: {
      ...Validators,
      'content-range': header('`bytes first-last/size`'),
      'content-length': header('Bytes of the range', { type: 'integer' }),
    },
  },
  302: {
    type: 'null',
    description: 'S3 storage only: the file is at a presigned URL, valid for 5 minutes.',
    headers: {
      location: header('The presigned URL'),
      'cache-control': header(
        `\`${REDIRECT_CACHE_CONTROL}\`: the URL expires, so the redirect is never kept`,
      ),
    },
  },
  304: {
    type: 'null',
    description:
      '`If-None-Match` names the `ETag` (or, without it, `If-Modified-Since` is no earlier than ' +
      '`Last-Modified`): the cached copy is still the file.',
    headers: Validators,
  },
  400: { ...ErrorRef, description: '`VALIDATION_FAILED`: a malformed id or header', headers: NotStored },
  404: {
    ...ErrorRef,
    description: '`MEDIA_NOT_FOUND`: no such media, or deleted, erased or not ready yet (or no thumbnail)',
    headers: NotStored,
  },
  416: {
    ...ErrorRef,
    description:
      '`RANGE_NOT_SATISFIABLE` (`GET` only): no range asked for is within the file, or the range ' +
      'set is malformed.',
    headers: { ...NotStored, 'content-range': header('`bytes */size`') },
  },
} as Record<number, TSchema>
