import { type Kysely, sql } from 'kysely'

/** Versioned service-graph snapshots: one row per structural change of the graph. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('service_amadeus_snapshot')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('version', 'integer', (c) => c.notNull().unique())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('graph', 'jsonb', (c) => c.notNull())
    .addColumn('diff', 'jsonb', (c) => c.notNull())
    .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('service_amadeus_snapshot_hash')
    .on('service_amadeus_snapshot')
    .column('hash')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('service_amadeus_snapshot').execute()
}
