import { type Kysely, sql } from 'kysely'

/**
 * Two webhook fixes on stored endpoints.
 *
 * 1. Several rotated-out secrets sign during their grace periods, not just the last one: a second
 *    rotation inside a grace period used to stop the oldest secret at once. The secret the last
 *    rotation replaced stays in `previous_secret_sealed` / `previous_secret_expires_at` (010), so
 *    existing grace periods carry on as they are and a node of the previous version still signs
 *    with it during a rolling deploy; `older_secrets` holds the ones before it that are still in
 *    their grace period, newest first, each sealed as the secret is (secret-box.ts):
 *    `[{sealed, expires_at}]`.
 *
 * 2. URLs stored with `user:password@` before registration refused them: the password sat in clear
 *    in the table and in every admin list, and the sender never sent it (its requests go to the
 *    URL's origin and path, no `Authorization`). The credentials are removed from the stored URL;
 *    what receivers get does not change. An endpoint whose receiver answered its last attempt with
 *    401 or 403 (it wanted those credentials) is also disabled, with a reason the admin list
 *    shows, rather than left failing: it cannot work until the receiver accepts signed requests.
 */
export const CREDENTIALS_DISABLED_REASON =
  'its URL held credentials (user:password@), which were never sent and have been removed, and ' +
  'the receiver refused the last attempt (401/403): let the receiver check the webhook-signature ' +
  'header instead, then enable the endpoint'

/** `url` without `user:password@`, or null when it has none (or is not a URL). */
export function stripCredentials(url: string): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  if (!parsed.username && !parsed.password) return null
  parsed.username = ''
  parsed.password = ''
  return parsed.href
}

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('service_notification_webhook')
    .addColumn('older_secrets', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute()

  // Every URL with userinfo has an `@` before its path; the few with one elsewhere are parsed too.
  const { rows } = await sql<{ id: string; url: string; enabled: boolean; last_status: number | null }>`
    select w.id, w.url, w.enabled, (
      select d.status_code from service_notification_delivery d
      where d.webhook_id = w.id order by d.id desc limit 1
    ) as last_status
    from service_notification_webhook w
    where w.url like '%@%'
  `.execute(db)
  for (const row of rows) {
    const url = stripCredentials(row.url)
    if (url === null) continue
    const refused = row.enabled && (row.last_status === 401 || row.last_status === 403)
    await db
      .updateTable('service_notification_webhook')
      .set({
        url,
        updated_at: new Date(),
        ...(refused ? { enabled: false, disabled_reason: CREDENTIALS_DISABLED_REASON } : {}),
      })
      .where('id', '=', row.id)
      .execute()
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  // The removed credentials are not restored: they were never used, and only leaked.
  await db.schema.alterTable('service_notification_webhook').dropColumn('older_secrets').execute()
}
