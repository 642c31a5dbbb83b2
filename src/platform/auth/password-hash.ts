import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Password hashes, for every password this server keeps: people's (the user module) and the
 * StreamSource registry's accounts (the stream module). `scrypt$N$r$p$salt$key`, the parameters
 * with the hash, so they can be raised without breaking a stored one.
 */

/**
 * N=2^14, r=8, p=5: one of the OWASP Password Storage Cheat Sheet's scrypt settings (equivalent to
 * its N=2^17, p=1), the one with the least memory: 16 MiB a hash, whatever `p` (its lanes run one
 * after another), so a node checking many logins at once on the libuv pool stays modest, where
 * N=2^17 would take 128 MiB each. Parameters are stored with each hash: those made under earlier
 * ones (N=2^14, p=1 until QA 31) still verify, and are made again under these at their owner's
 * next login (see `needsRehash`).
 */
const STANDARD: ScryptParams = { N: 1 << 14, r: 8, p: 5 }
/**
 * The same r and p at N=2^4 (a hash in microseconds, not 160 ms): for test processes only, as
 * Rails' `ActiveModel::SecurePassword.min_cost` is, where hundreds of accounts sign up and log
 * in. No setting reaches it: only code calls `usePasswordCost`, and the server never does.
 * Hashes made under it carry their parameters like any other and verify the same way.
 */
const MINIMUM: ScryptParams = { N: 1 << 4, r: 8, p: 5 }
let PARAMS = STANDARD
const KEY_LENGTH = 32
/** The key lengths a stored hash may have (shorter or longer is a malformed hash, never a scrypt call). */
const MIN_KEY_LENGTH = 16
const MAX_KEY_LENGTH = 64
const SALT_LENGTH = 16

interface ScryptParams {
  N: number
  r: number
  p: number
}

function derive(
  password: string,
  salt: Buffer,
  params: ScryptParams,
  keyLength = KEY_LENGTH,
): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 128 * params.N * params.r * 2 }
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, keyLength, options, (err, key) =>
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
  // Base64 or base64url alike (Node reads both), and as long as it was made: the StreamSource
  // registry's accounts stored 64-byte keys in base64url before their hashes joined these.
  const expected = Buffer.from(hash, 'base64')
  if (expected.length < MIN_KEY_LENGTH || expected.length > MAX_KEY_LENGTH) return false
  // Parameters scrypt refuses (N not a power of two, a zero, more memory than it allows) are a
  // malformed hash too: its owner gets "wrong password", never a 500 at every login.
  const saltBytes = Buffer.from(salt, 'base64')
  const actual = await derive(password, saltBytes, params, expected.length).catch(() => undefined)
  const ok = actual !== undefined && timingSafeEqual(expected, actual)
  const extra = ok ? undefined : hardening(stored)
  if (extra) await derive(password, saltBytes, extra, expected.length).catch(() => undefined)
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

/** Which parameters new hashes get in this process: `standard` unless a test asks for `minimum`. */
export function usePasswordCost(cost: 'standard' | 'minimum'): void {
  PARAMS = cost === 'minimum' ? MINIMUM : STANDARD
  dummy = undefined
}

let dummy: Promise<string> | undefined
/** Spend the time a real check takes, so an unknown email answers no faster than a wrong password. */
export async function burnPasswordCheck(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(12).toString('hex'))
  await verifyPassword(password, await dummy)
  return false
}
