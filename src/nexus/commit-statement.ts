import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import { prepared } from '../platform/db/prepared.js'
import type { CommitJob } from './commit-log.js'

/** True when a batch can be written by `writeStatement` alone: nothing claimed, no handler writes. */
export function fitsOneStatement(jobs: CommitJob[]): boolean {
  return jobs.every((j) => !j.claimed && j.writes.length === 0 && !j.grouped?.length)
}

/**
 * Writes a batch of distinct jobs' records as ONE statement: data-modifying CTEs insert the
 * idempotency records of fresh jobs (a conflicting record is kept unless it expired), then, only
 * for the records that were written, for claimed jobs (whose records the caller completed just
 * before, in the same transaction) and for keyless ones (no record), write their analytics
 * events, new sessions and counter increments. A single statement is atomic, so a batch without handler writes commits in one
 * round trip instead of six; a batch with them runs this first inside its transaction. Returns
 * the keys written; a fresh job missing from them was already recorded (a duplicate).
 *
 * Rows go in sorted order (requests, sessions, counters) so concurrent batches lock in the same
 * order and cannot deadlock on each other.
 */
export async function writeStatement(
  db: Db,
  jobs: CommitJob[],
  sessions: Array<{ campaign_slug: string; actor: string; request_id: string; session_id: string }>,
  /** The counter shard this batch adds to (see migration 008). */
  shard: number,
): Promise<Array<{ campaign_slug: string; actor: string; request_id: string }>> {
  // Each row set goes as ONE jsonb parameter (JSON.stringify is native and payloads stay JSON),
  // which costs far less than pg's per-element array-literal escaping of unnest() arrays.
  const req: unknown[] = []
  const done: unknown[] = []
  const ev: unknown[] = []
  const cnt: unknown[] = []
  // Object literals, not `{ ...key, more }`: V8 takes a slow path when a spread object gets more
  // properties (~0.35 µs each, measured), and this loop runs per job.
  for (const { request: r, event: e, counters, claimed, keyless } of jobs) {
    const { campaign_slug, actor, request_id } = r
    if (claimed || keyless) done.push({ campaign_slug, actor, request_id })
    else {
      req.push({
        campaign_slug,
        actor,
        request_id,
        status_code: r.status_code,
        response: r.response ?? null,
        fingerprint: r.fingerprint,
        expires_at: r.expires_at,
      })
    }
    if (e) {
      ev.push({
        campaign_slug,
        actor,
        request_id,
        event_id: e.event_id,
        event: e.event,
        user_id: e.user_id,
        session_id: e.session_id,
        payload: e.payload ?? null,
        metadata: e.metadata ?? {},
        timestamp: e.timestamp,
        received_at: e.received_at,
      })
    }
    for (const name in counters) cnt.push({ campaign_slug, actor, request_id, name, n: counters[name] })
  }

  // A record past its 24 h (not purged yet) is no duplicate: the request is new again, as
  // `storedResponse` no longer sees the old answer. It is taken over, or the action would be
  // acknowledged without being recorded, and whom the old answer was about (`subject_user_id`)
  // goes with it: erasing that person must not touch the new answer. The same clock as
  // `storedResponse`'s reads (this node's).
  const now = new Date()
  // A JSON null in a recordset is an SQL NULL: coalesce keeps the jsonb `null` the columns expect.
  const { rows } = await sql<{ campaign_slug: string; actor: string; request_id: string }>`
    ${prepared('commit-records')} with won as (
      insert into service_nexus_request
        (campaign_slug, actor, request_id, status, status_code, response, fingerprint, expires_at)
      select campaign_slug, actor, request_id, 'done', status_code, coalesce(response, 'null'::jsonb),
             fingerprint, expires_at
      from jsonb_to_recordset(${JSON.stringify(req)}::jsonb)
        as r(campaign_slug text, actor text, request_id text, status_code int, response jsonb,
             fingerprint text, expires_at timestamptz)
      order by campaign_slug, actor, request_id
      on conflict (campaign_slug, actor, request_id) do update
        set status = 'done', status_code = excluded.status_code, response = excluded.response,
            fingerprint = excluded.fingerprint, subject_user_id = null, created_at = ${now},
            expires_at = excluded.expires_at
        where service_nexus_request.expires_at <= ${now}
      returning campaign_slug, actor, request_id
    ),
    live as (
      select * from won
      union all
      select * from jsonb_to_recordset(${JSON.stringify(done)}::jsonb) as c(campaign_slug text, actor text, request_id text)
    ),
    ev as (
      insert into service_analytics_event
        (event_id, campaign_slug, event, user_id, session_id, payload, metadata, "timestamp", received_at)
      select e.event_id, e.campaign_slug, e.event, e.user_id, e.session_id, coalesce(e.payload, 'null'::jsonb),
             coalesce(e.metadata, '{}'::jsonb), e."timestamp", e.received_at
      from jsonb_to_recordset(${JSON.stringify(ev)}::jsonb)
        as e(campaign_slug text, actor text, request_id text, event_id text, event text, user_id text,
             session_id text, payload jsonb, metadata jsonb, "timestamp" timestamptz, received_at timestamptz)
      join live using (campaign_slug, actor, request_id)
    ),
    ses as (
      insert into service_campaign_session (campaign_slug, session_id)
      select distinct s.campaign_slug, s.session_id
      from jsonb_to_recordset(${JSON.stringify(sessions)}::jsonb)
        as s(campaign_slug text, actor text, request_id text, session_id text)
      join live using (campaign_slug, actor, request_id)
      order by s.campaign_slug, s.session_id
      on conflict (campaign_slug, session_id) do nothing
      returning campaign_slug
    ),
    cnt as (
      insert into service_campaign_counter (campaign_slug, name, shard, count)
      select campaign_slug, name, ${shard}::smallint, sum(n)::bigint
      from (
        select c.campaign_slug, c.name, c.n
        from jsonb_to_recordset(${JSON.stringify(cnt)}::jsonb)
          as c(campaign_slug text, actor text, request_id text, name text, n bigint)
        join live using (campaign_slug, actor, request_id)
        union all
        select campaign_slug, 'sessions', 1 from ses
      ) increments
      group by campaign_slug, name
      order by campaign_slug, name
      on conflict (campaign_slug, name, shard)
        do update set count = service_campaign_counter.count + excluded.count
    )
    select campaign_slug, actor, request_id from live
  `.execute(db)
  return rows
}
