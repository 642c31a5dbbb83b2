import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'
import { BadRequestError } from '../../platform/http/errors.js'

// N=2^14, r=8 (16 MiB, tens of ms): the scrypt paper's interactive-login setting. Parameters are
// stored with each hash, so they can be raised later without breaking existing passwords.
const PARAMS = { N: 1 << 14, r: 8, p: 1 }
const KEY_LENGTH = 32
const SALT_LENGTH = 16

function derive(password: string, salt: Buffer, params: typeof PARAMS): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 128 * params.N * params.r * 2 }
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  )
}

/** `scrypt$N$r$p$salt$hash` (base64): the parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH)
  const key = await derive(password, salt, PARAMS)
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$')
}

/** Constant-time comparison; false (never a throw) for a malformed stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return false
  const params = { N: Number(n), r: Number(r), p: Number(p) }
  if (!Number.isInteger(params.N) || !Number.isInteger(params.r) || !Number.isInteger(params.p)) return false
  const expected = Buffer.from(hash, 'base64')
  // Parameters scrypt refuses (N not a power of two, a zero, more memory than it allows) are a
  // malformed hash too: its owner gets "wrong password", never a 500 at every login.
  const actual = await derive(password, Buffer.from(salt, 'base64'), params).catch(() => undefined)
  return actual !== undefined && expected.length === actual.length && timingSafeEqual(expected, actual)
}

let dummy: Promise<string> | undefined
/** Spend the time a real check takes, so an unknown email answers no faster than a wrong password. */
export async function burnPasswordCheck(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(12).toString('hex'))
  await verifyPassword(password, await dummy)
  return false
}

export const PASSWORD_MIN_LENGTH = 10
/** `aaaaaaaaa1` or `1212121212a` is 10 characters long and guessed in a moment. */
export const PASSWORD_MIN_DISTINCT = 5

/**
 * The strength rule: at least 10 characters, at least one letter and one non-letter, at least 5
 * different characters (so not one or two repeated), and not containing the email's local part.
 * Judged on the NFKC form, the one hashed (see `derive`) and so the one a guesser must find: a
 * decomposed accent (`e` + U+0301) is one character, and the address typed in fullwidth letters
 * (`ａｄａ…`, as an input method types it) is the address.
 */
export function assertStrongPassword(typed: string, email: string): void {
  const password = typed.normalize('NFKC')
  const problems: string[] = []
  if ([...password].length < PASSWORD_MIN_LENGTH)
    problems.push(`must be at least ${PASSWORD_MIN_LENGTH} characters`)
  if (!/\p{L}/u.test(password) || !/[^\p{L}]/u.test(password))
    problems.push('must contain a letter and a digit or symbol')
  if (new Set(password.toLowerCase()).size < PASSWORD_MIN_DISTINCT)
    problems.push(`must use at least ${PASSWORD_MIN_DISTINCT} different characters`)
  const local = email.split('@')[0] ?? ''
  if (local.length >= 4 && password.toLowerCase().includes(local))
    problems.push('must not contain your email')
  if (problems.length > 0) {
    throw new BadRequestError(
      'Password is too weak',
      'WEAK_PASSWORD',
      problems.map((message) => ({ path: '/password', message })),
    )
  }
}
