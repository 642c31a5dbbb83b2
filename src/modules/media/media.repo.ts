import type { Insertable, Selectable, Updateable } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { MediaMainTable } from '../../platform/db/tables.js'

export type MediaRow = Selectable<MediaMainTable>

export async function insert(db: Db, row: Insertable<MediaMainTable>): Promise<void> {
  await db.insertInto('service_media_main').values(row).execute()
}

export async function find(db: Db, id: string): Promise<MediaRow | undefined> {
  return db.selectFrom('service_media_main').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Claim the upload URL: only the first PUT for a pending media wins (single use, across nodes). */
export async function claim(db: Db, id: string): Promise<MediaRow | undefined> {
  return db
    .updateTable('service_media_main')
    .set({ status: 'uploading', upload_used_at: new Date(), updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('upload_used_at', 'is', null)
    .returningAll()
    .executeTakeFirst()
}

export async function update(db: Db, id: string, patch: Updateable<MediaMainTable>): Promise<void> {
  await db
    .updateTable('service_media_main')
    .set({ ...patch, updated_at: new Date() })
    .where('id', '=', id)
    .execute()
}

export async function listByCampaign(db: Db, slug: string, limit: number): Promise<MediaRow[]> {
  return db
    .selectFrom('service_media_main')
    .selectAll()
    .where('campaign_slug', '=', slug)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute()
}
