import { type Kysely, sql } from 'kysely'

/**
 * An API key may end by itself: `expires_at` (null: never, as every key made before). From that
 * instant the key is refused (401 `API_KEY_EXPIRED`) as a revoked one is; the row stays, so `list`
 * still shows it. A nullable column with no default: no rewrite of the table, no lock held long.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table service_security_apikey add column if not exists expires_at timestamptz`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table service_security_apikey drop column if exists expires_at`.execute(db)
}
