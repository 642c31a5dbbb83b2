import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'

/**
 * Erase a person from the analytics log: every event they sent as a user, and every guest event of
 * the sessions they joined from (the join itself carried their email and name). The rows and
 * the counters stay; only payload and metadata are replaced (versioning is kept, it is not personal).
 */
export async function scrubAnalyticsEvents(
  trx: Db,
  person: { user_id: string; session_ids: string[] },
): Promise<number> {
  const result = await trx
    .updateTable('service_analytics_event')
    .set({
      payload: sql`'{"erased":true}'::jsonb`,
      metadata: sql`jsonb_strip_nulls(jsonb_build_object('erased', true, 'versioning', metadata->'versioning'))`,
    })
    .where((eb) =>
      person.session_ids.length > 0
        ? eb.or([
            eb('user_id', '=', person.user_id),
            // What the sessions did before anyone joined from them (the join itself among it);
            // not what another person who joined from the same browser did as themself.
            eb.and([eb('session_id', 'in', person.session_ids), eb('user_id', '=', 'guest')]),
          ])
        : eb('user_id', '=', person.user_id),
    )
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}
