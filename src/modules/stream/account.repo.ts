import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { AccountRole } from './stream.schema.js'

export interface AccountRow {
  id: number
  email: string
  password_hash: string
  role: AccountRole
  is_service_account: boolean
  /** Tokens issued before this are refused; null when none were cut off. */
  tokens_valid_after: Date | null
  created_at: Date
  updated_at: Date
}

const columns = [
  'id',
  'email',
  'password_hash',
  'role',
  'is_service_account',
  'tokens_valid_after',
  'created_at',
  'updated_at',
] as const

export async function insert(
  db: Db,
  values: { email: string; password_hash: string; role?: AccountRole; is_service_account?: boolean },
): Promise<AccountRow | undefined> {
  return (await db
    .insertInto('service_stream_user')
    .values(values)
    .onConflict((oc) => oc.column('email').doNothing())
    .returning(columns)
    .executeTakeFirst()) as AccountRow | undefined
}

export async function findByEmail(db: Db, email: string): Promise<AccountRow | undefined> {
  return (await db
    .selectFrom('service_stream_user')
    .select(columns)
    .where('email', '=', email)
    .executeTakeFirst()) as AccountRow | undefined
}

export async function findById(db: Db, id: number): Promise<AccountRow | undefined> {
  return (await db
    .selectFrom('service_stream_user')
    .select(columns)
    .where('id', '=', id)
    .executeTakeFirst()) as AccountRow | undefined
}

export async function findMany(db: Db, ids: number[]): Promise<AccountRow[]> {
  if (ids.length === 0) return []
  return (await db
    .selectFrom('service_stream_user')
    .select(columns)
    .where('id', 'in', ids)
    .execute()) as AccountRow[]
}

export async function list(
  db: Db,
  page: number,
  perPage: number,
): Promise<{ rows: AccountRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    db
      .selectFrom('service_stream_user')
      .select(columns)
      .orderBy('id')
      .limit(perPage)
      .offset((page - 1) * perPage)
      .execute(),
    db
      .selectFrom('service_stream_user')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ])
  return { rows: rows as AccountRow[], total: Number(count.n) }
}

export async function update(
  db: Db,
  id: number,
  patch: { role?: AccountRole; is_service_account?: boolean; password_hash?: string },
): Promise<AccountRow | undefined> {
  return (await db
    .updateTable('service_stream_user')
    .set({ ...patch, updated_at: new Date() })
    .where('id', '=', id)
    .returning(columns)
    .executeTakeFirst()) as AccountRow | undefined
}

/**
 * Stores `next` as the account's password hash only while `previous` is still the stored one:
 * a rehash at login (see `needsRehash`) never overwrites a password changed meanwhile, and cuts
 * off no token (the password is the same).
 */
export async function replacePasswordHash(db: Db, id: number, previous: string, next: string): Promise<void> {
  await db
    .updateTable('service_stream_user')
    .set({ password_hash: next })
    .where('id', '=', id)
    .where('password_hash', '=', previous)
    .execute()
}

/**
 * Refuses every token of the account issued before `at` (and a new password, when given, in the
 * same write). Always moves the cut-off on, by a millisecond at least: tokens carry the cut-off
 * they were issued under (`va`) and are refused once it moved, so a node whose clock runs behind
 * neither revives tokens another node cut off nor leaves the tokens issued since working.
 */
export async function cutOffTokens(
  db: Db,
  id: number,
  at: Date,
  passwordHash?: string,
): Promise<AccountRow | undefined> {
  return (await db
    .updateTable('service_stream_user')
    .set({
      tokens_valid_after: sql<Date>`greatest(${at}::timestamptz, tokens_valid_after + interval '1 millisecond')`,
      ...(passwordHash !== undefined ? { password_hash: passwordHash } : {}),
      updated_at: at,
    })
    .where('id', '=', id)
    .returning(columns)
    .executeTakeFirst()) as AccountRow | undefined
}

export async function denyToken(db: Db, jti: string, expiresAt: Date): Promise<void> {
  await db
    .insertInto('service_stream_token_denylist')
    .values({ jti, expires_at: expiresAt })
    .onConflict((oc) => oc.column('jti').doNothing())
    .execute()
}

export async function isDenied(db: Db, jti: string): Promise<boolean> {
  const row = await db
    .selectFrom('service_stream_token_denylist')
    .select('jti')
    .where('jti', '=', jti)
    .executeTakeFirst()
  return row !== undefined
}

export async function purgeDenylist(db: Db, now = new Date()): Promise<void> {
  await db.deleteFrom('service_stream_token_denylist').where('expires_at', '<', now).execute()
}
