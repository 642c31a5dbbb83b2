import { type Kysely, sql } from 'kysely'

/**
 * `service_user_master.role`: what a person may do beyond taking part (issue 7). Every person is a
 * `participant` until an admin (a key, an admin person, or `ovasabi user role`) makes them an
 * `editor` or an `admin`; their tokens carry it from their next login. Checked by the database,
 * so a typo in a hand-made update cannot grant a role no code knows. The partial index holds the
 * few people with a console role: the "last admin" check counts them without reading everyone.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table service_user_master
            add column if not exists role text not null default 'participant'
            constraint service_user_master_role check (role in ('participant', 'editor', 'admin'))`.execute(
    db,
  )
  await sql`create index if not exists service_user_master_console_role
            on service_user_master (role) where role <> 'participant'`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists service_user_master_console_role`.execute(db)
  await sql`alter table service_user_master drop column if exists role`.execute(db)
}
