/**
 * A webhook body as the outbox gives it back. The outbox keeps a message's payload as `jsonb`,
 * which orders an object's keys its own way (shorter keys first, then by their bytes); a worker
 * reads the row back through the driver, whose parse keeps that order, and serialises it. So the
 * first attempt serialises the payload in that same order, and every attempt and replay, on any
 * node of any version that reads the row so, sends the same bytes under one `webhook-id`.
 * (JavaScript puts integer-like keys first in any object; both sides go through objects, so they
 * agree there too.)
 */
export function storedBody(payload: unknown): string {
  return JSON.stringify(payload, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? inJsonbOrder(value) : value,
  )
}

function inJsonbOrder(object: object): Record<string, unknown> {
  const keys = Object.keys(object)
  keys.sort(compareKeys)
  const ordered: Record<string, unknown> = {}
  for (const k of keys) ordered[k] = (object as Record<string, unknown>)[k]
  return ordered
}

const ASCII = /^[\x00-\x7f]*$/

/** jsonb's key order: byte length, then bytes (for ASCII, the characters' own order). */
function compareKeys(a: string, b: string): number {
  if (ASCII.test(a) && ASCII.test(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
  const la = Buffer.byteLength(a)
  const lb = Buffer.byteLength(b)
  return la !== lb ? la - lb : Buffer.compare(Buffer.from(a), Buffer.from(b))
}
