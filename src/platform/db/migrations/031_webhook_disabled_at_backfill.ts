import { type Kysely, sql } from 'kysely'

/**
 * Endpoints already disabled when 030 added `disabled_at` (by a 410 earlier, or by 025 on upgrade)
 * have it null, so the console's "Recover messages" has no window to start from for them. They get
 * the best time there is: their latest delivery attempt (the 410 that disabled them, or the
 * 401/403 after which 025 did), else their `updated_at` (set when they were disabled, unless an
 * edit moved it later). Attempt 0 lines are not attempts: they record an event that came while the
 * endpoint was already disabled (`enqueueMany`), after the time sought, and a window starting
 * from them would leave out every message recorded before them. Plain SQL, frozen here: later
 * changes to the module do not change what this migration did.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    update service_notification_webhook w
    set disabled_at = coalesce(
      (
        select d.created_at from service_notification_delivery d
        where d.webhook_id = w.id and d.attempt > 0
        order by d.id desc
        limit 1
      ),
      w.updated_at
    )
    where not w.enabled and w.disabled_at is null
  `.execute(db)
}

export async function down(_db: Kysely<any>): Promise<void> {
  // Nothing to undo: the times filled in cannot be told from those set at a 410 since 030, and
  // 030's down drops the column anyway.
}
