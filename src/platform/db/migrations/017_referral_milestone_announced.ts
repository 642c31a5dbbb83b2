import { type Kysely, sql } from 'kysely'

/**
 * A milestone's `referral.milestone` announcement, made durable. The milestone row was claimed
 * exactly once, but announced after commit with no record of it: a crash or a failed publish in
 * between lost the announcement for good. Now `announced_at` is set once the publish succeeded,
 * and a periodic sweep (any node) announces what was committed but not announced.
 *
 * `announced_at` defaults to now(), so rows from before this migration count as announced (they
 * were, or were lost long ago: re-announcing history after an upgrade would flood every socket),
 * and so do rows a node still running the previous version inserts during a rolling upgrade (it
 * announces them itself). The current code inserts an explicit null.
 *
 * `announce_after` is a lease: until then only whoever claimed the row (the committing request,
 * then a sweep) may announce it; after it, any sweep may take it over.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('service_referral_milestone')
    .addColumn('announced_at', 'timestamptz', (c) => c.defaultTo(sql`now()`))
    .addColumn('announce_after', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // The sweep's lookup: only the few rows not announced yet are in it.
  await sql`create index service_referral_milestone_unannounced
            on service_referral_milestone (announce_after) where announced_at is null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists service_referral_milestone_unannounced`.execute(db)
  await db.schema
    .alterTable('service_referral_milestone')
    .dropColumn('announce_after')
    .dropColumn('announced_at')
    .execute()
}
