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

/** Who sent an erased record, and where: whose events of it are scrubbed (see `scrubSubmitterEvents`). */
export interface Submitter {
  campaign: string
  session_id: string
  user_id: string
}

/**
 * Erase one record's submissions from the analytics log when the record is erased on its own (an
 * admin erasing a lead of someone who never registered): the `events` (an action's name and
 * aliases) each submitter logged in that campaign, from that session (as a guest or as the same
 * user) or as that user, scrubbed as `scrubAnalyticsEvents` does. The log names no record, so
 * another of the same submitter's submissions of that action there goes too; another person's,
 * from a browser they share, stays. One statement for any number of submitters.
 */
export async function scrubSubmitterEvents(
  trx: Db,
  events: readonly string[],
  submitters: Submitter[],
): Promise<number> {
  if (submitters.length === 0 || events.length === 0) return 0
  const { numAffectedRows } = await sql`
    update service_analytics_event e set
      payload = '{"erased":true}'::jsonb,
      metadata = jsonb_strip_nulls(jsonb_build_object('erased', true, 'versioning', e.metadata->'versioning'))
    from jsonb_to_recordset(${JSON.stringify(submitters)}::jsonb)
      as s(campaign text, session_id text, user_id text)
    where e.campaign_slug = s.campaign and e.event = any(${[...events]}::text[])
      and ((e.session_id = s.session_id and e.user_id in ('guest', s.user_id))
        or (s.user_id <> 'guest' and e.user_id = s.user_id))
      and e.payload <> '{"erased":true}'::jsonb
  `.execute(trx)
  return Number(numAffectedRows ?? 0)
}
