import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'
import { BadRequestError } from '../../platform/http/errors.js'

/**
 * N=2^14, r=8, p=5: one of the OWASP Password Storage Cheat Sheet's scrypt settings (equivalent to
 * its N=2^17, p=1), the one with the least memory: 16 MiB a hash, whatever `p` (its lanes run one
 * after another), so a node checking many logins at once on the libuv pool stays modest, where
 * N=2^17 would take 128 MiB each. Parameters are stored with each hash: those made under earlier
 * ones (N=2^14, p=1 until QA 31) still verify, and are made again under these at their owner's
 * next login (see `needsRehash`).
 */
const PARAMS: ScryptParams = { N: 1 << 14, r: 8, p: 5 }
const KEY_LENGTH = 32
const SALT_LENGTH = 16

interface ScryptParams {
  N: number
  r: number
  p: number
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
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

/**
 * Constant-time comparison; false (never a throw) for a malformed stored hash. A wrong password
 * for a hash of fewer lanes than new ones (see `hardening`) spends the lanes it lacks too.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return false
  const params = { N: Number(n), r: Number(r), p: Number(p) }
  if (!Number.isInteger(params.N) || !Number.isInteger(params.r) || !Number.isInteger(params.p)) return false
  const expected = Buffer.from(hash, 'base64')
  // Parameters scrypt refuses (N not a power of two, a zero, more memory than it allows) are a
  // malformed hash too: its owner gets "wrong password", never a 500 at every login.
  const saltBytes = Buffer.from(salt, 'base64')
  const actual = await derive(password, saltBytes, params).catch(() => undefined)
  const ok = actual !== undefined && expected.length === actual.length && timingSafeEqual(expected, actual)
  const extra = ok ? undefined : hardening(stored)
  if (extra) await derive(password, saltBytes, extra).catch(() => undefined)
  return ok
}

/**
 * The work a check of `stored` lacks against one of a new hash: scrypt's lanes run one after
 * another, so a hash of N=2^14, r=8, p=1 checks in a fifth of the time, and a wrong password for
 * one of the accounts stored before QA 31 would answer faster than one for an unknown email
 * (`burnPasswordCheck`, at the new parameters): which addresses have an account would show. A
 * failed check spends the missing lanes (as Django's `harden_runtime` does); a right one is
 * made again (`needsRehash`). Undefined when nothing is missing or N and r differ.
 */
export function hardening(stored: string): ScryptParams | undefined {
  const [, n, r, p] = stored.split('$')
  const lanes = Number(p)
  if (Number(n) !== PARAMS.N || Number(r) !== PARAMS.r || !Number.isInteger(lanes) || lanes < 1)
    return undefined
  return lanes < PARAMS.p ? { N: PARAMS.N, r: PARAMS.r, p: PARAMS.p - lanes } : undefined
}

/**
 * Whether a hash that just verified was made under other parameters than new hashes are (or by
 * another scheme): its owner's login then stores a new one, made while the password is at hand.
 */
export function needsRehash(stored: string): boolean {
  const [scheme, n, r, p] = stored.split('$')
  return scheme !== 'scrypt' || Number(n) !== PARAMS.N || Number(r) !== PARAMS.r || Number(p) !== PARAMS.p
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
