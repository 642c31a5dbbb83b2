import { type Kysely, sql } from 'kysely'

/**
 * An API key may be limited to some campaigns: `campaigns`, a JSON array of slugs (null: every
 * campaign, as every key made before). Read only with the key's own row (found by `key_hash`,
 * already unique), so no index of its own. A nullable column with no default: no table rewrite.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table service_security_apikey add column if not exists campaigns jsonb`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table service_security_apikey drop column if exists campaigns`.execute(db)
}
