import { createHmac, timingSafeEqual } from 'node:crypto'
import { ForbiddenError } from '../../platform/http/errors.js'

/**
 * Upload URLs carry `{media_id}.{expires}.{hmac}`. The HMAC key is derived from JWT_SECRET
 * for this one purpose, so an upload signature can never pass for a token and vice versa.
 * Single use is enforced by the database (the claim), not by the signature.
 */
export interface UploadSigner {
  sign(mediaId: string, expiresAt: Date): string
  /** The media id of a genuine, unexpired token; 403 otherwise. */
  verify(token: string, now?: Date): string
}

/**
 * When a URL signed to expire at `expiresAt` stops being accepted: URLs carry whole seconds, so
 * the second it falls in. What the client is told (`expires_at`) and what an unused upload's
 * uploader reads after it (`failed`, `expired`) follow the same instant as `verify`.
 */
export const urlExpiry = (expiresAt: Date): Date => new Date(Math.floor(expiresAt.getTime() / 1000) * 1000)

const TOKEN = /^([0-9A-HJKMNP-TV-Z]{26})\.(\d{10,13})\.([A-Za-z0-9_-]{43})$/

export function createUploadSigner(secret: string): UploadSigner {
  const key = createHmac('sha256', secret).update('ovasabi:media-upload:v1').digest()
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest()

  return {
    sign(mediaId, expiresAt) {
      const payload = `${mediaId}.${urlExpiry(expiresAt).getTime() / 1000}`
      return `${payload}.${mac(payload).toString('base64url')}`
    },
    verify(token, now = new Date()) {
      const m = TOKEN.exec(token)
      if (!m) throw new ForbiddenError('Upload URL is not valid', 'UPLOAD_URL_INVALID')
      const [, id, exp, sig] = m as unknown as [string, string, string, string]
      // The encoded text is compared, not the decoded bytes: the 43rd character carries two
      // spare bits, so four spellings decode to the same MAC and only the one we issued passes.
      const expected = Buffer.from(mac(`${id}.${exp}`).toString('base64url'))
      const given = Buffer.from(sig)
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new ForbiddenError('Upload URL is not valid', 'UPLOAD_URL_INVALID')
      }
      if (Number(exp) * 1000 <= now.getTime()) {
        throw new ForbiddenError('Upload URL has expired', 'UPLOAD_URL_EXPIRED')
      }
      return id
    },
  }
}
