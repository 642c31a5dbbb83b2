import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** A new Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64')
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the decoded secret. */
export function sign(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')
  return `v1,${mac}`
}

/**
 * The three Standard Webhooks headers for one send; with several secrets (a rotation's grace
 * period), one signature per secret, space-separated, any of which a receiver may check.
 */
export function signedHeaders(secrets: string | string[], id: string, body: string, now = new Date()) {
  const timestamp = Math.floor(now.getTime() / 1000)
  const all = typeof secrets === 'string' ? [secrets] : secrets
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': all.map((secret) => sign(secret, id, timestamp, body)).join(' '),
  }
}

/**
 * Receiver-side check, as a CRM would do it: any `v1` signature in the space-separated list
 * matches, and the timestamp is within `toleranceSeconds` (replay protection).
 */
export function verify(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  toleranceSeconds = 300,
  now = Date.now(),
): boolean {
  const ts = Number(headers.timestamp)
  if (!Number.isInteger(ts) || Math.abs(now / 1000 - ts) > toleranceSeconds) return false
  const expected = Buffer.from(sign(secret, headers.id, ts, body))
  return headers.signature.split(' ').some((candidate) => {
    const given = Buffer.from(candidate)
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}
