import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { PeopleList, PeopleQuery } from './people.schema.js'

/**
 * People who have not been erased, newest first, `perPage` at a time (one more is read to know
 * whether another page follows, so the last page is never an empty one). `q` matches the address
 * or the display name as typed: `%` and `_` are literal, the text in NFC as stored names are.
 */
export async function listPeople(
  db: Db,
  filters: Pick<PeopleQuery, 'role' | 'q' | 'before'>,
  perPage: number,
): Promise<PeopleList> {
  let query = db
    .selectFrom('service_user_master')
    .select([
      'id',
      'email',
      'display_name',
      'role',
      sql<boolean>`password_hash is not null`.as('has_password'),
      'email_verified_at',
      'created_at',
    ])
    .where('erased_at', 'is', null)
  if (filters.role) query = query.where('role', '=', filters.role)
  if (filters.before) query = query.where('id', '<', filters.before)
  if (filters.q) {
    const like = `%${filters.q.normalize('NFC').replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`
    query = query.where((eb) => eb.or([eb('email', 'ilike', like), eb('display_name', 'ilike', like)]))
  }
  const rows = await query
    .orderBy('id', 'desc')
    .limit(perPage + 1)
    .execute()
  return {
    people: rows.slice(0, perPage).map((r) => ({
      ...r,
      has_password: Boolean(r.has_password),
      email_verified_at: r.email_verified_at ? new Date(r.email_verified_at).toISOString() : null,
      created_at: new Date(r.created_at).toISOString(),
    })),
    has_more: rows.length > perPage,
  }
}
