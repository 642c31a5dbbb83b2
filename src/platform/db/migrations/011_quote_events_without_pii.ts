import { type Kysely, sql } from 'kysely'

/**
 * Quote submissions are recorded in the analytics log without the submitter's personal fields
 * (see `PERSONAL_FIELDS` in quote.schema.ts): erasure clears the lead row, and a guest's
 * submission events are tied to no user it could find them by. This scrubs the events written
 * before, the way the action now records them. (The list is copied here on purpose: a migration
 * must keep doing what it did when it ran.)
 */
const PERSONAL = ['name', 'email', 'phone', 'company', 'message']

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    update service_analytics_event e
    set payload = e.payload || (
      select jsonb_object_agg(k, '[redacted]') from jsonb_object_keys(e.payload) k
      where k = any(${PERSONAL}::text[])
    )
    where e.event in ('quote.submit', 'submit_quote')
      and jsonb_typeof(e.payload) = 'object'
      and e.payload ?| ${PERSONAL}::text[]
  `.execute(db)
}

/** Nothing to undo: what was scrubbed is gone. */
export async function down(): Promise<void> {}
