// Crockford base32 ULIDs (time-ordered, 128 bits) from Web Crypto, available in browsers and
// Node ≥ 20 alike; the server's `ulid` package would pull a Node-specific PRNG probe into bundles.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** A new ULID: 10 characters of milliseconds, 16 of randomness. */
export function ulid(now = Date.now()): string {
  let time = ''
  let t = now
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time
    t = Math.floor(t / 32)
  }
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  let rand = ''
  for (const b of bytes) rand += ALPHABET[b % 32]
  return time + rand
}
