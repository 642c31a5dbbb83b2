import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import type { CommitJob } from './commit-log.js'

/** True when a batch can be written by `writeStatement`: nothing claimed, no handler writes. */
export function fitsOneStatement(jobs: CommitJob[]): boolean {
  return jobs.every((j) => !j.claimed && j.writes.length === 0)
}

/**
 * Writes a batch of fresh (unclaimed, distinct) jobs as ONE statement: data-modifying CTEs insert
 * the idempotency records (ON CONFLICT DO NOTHING) and, only for the records that were inserted,
 * their analytics events, new sessions and counter increments. A single statement is atomic, so
 * this is the same commit as the transaction path in one round trip instead of six, which is
 * what the action endpoint's throughput and latency are bound by. Returns the keys inserted;
 * the others were already recorded (duplicates).
 *
 * Rows go in sorted order (requests, sessions, counters) so concurrent batches lock in the same
 * order and cannot deadlock on each other.
 */
export async function writeStatement(
  db: Db,
  jobs: CommitJob[],
  sessions: Array<{ campaign_slug: string; actor: string; request_id: string; session_id: string }>,
): Promise<Array<{ campaign_slug: string; actor: string; request_id: string }>> {
  const req = columns(6)
  const ev = columns(11)
  const cnt = columns(5)
  for (const { request: r, event: e, counters } of jobs) {
    req.push(r.campaign_slug, r.actor, r.request_id, r.status_code, JSON.stringify(r.response), r.expires_at)
    if (e) {
      ev.push(
        r.campaign_slug,
        r.actor,
        r.request_id,
        e.event_id,
        e.event,
        e.user_id,
        e.session_id,
        JSON.stringify(e.payload ?? null),
        JSON.stringify(e.metadata ?? {}),
        e.timestamp,
        e.received_at,
      )
    }
    for (const [name, by] of Object.entries(counters))
      cnt.push(r.campaign_slug, r.actor, r.request_id, name, by)
  }
  const ses = columns(4)
  for (const s of sessions) ses.push(s.campaign_slug, s.actor, s.request_id, s.session_id)

  const { rows } = await sql<{ campaign_slug: string; actor: string; request_id: string }>`
    with won as (
      insert into service_nexus_request
        (campaign_slug, actor, request_id, status, status_code, response, expires_at)
      select campaign_slug, actor, request_id, 'done', status_code, response, expires_at
      from unnest(${req.col(0)}::text[], ${req.col(1)}::text[], ${req.col(2)}::text[],
                  ${req.col(3)}::int[], ${req.col(4)}::jsonb[], ${req.col(5)}::timestamptz[])
        as r(campaign_slug, actor, request_id, status_code, response, expires_at)
      order by campaign_slug, actor, request_id
      on conflict (campaign_slug, actor, request_id) do nothing
      returning campaign_slug, actor, request_id
    ),
    ev as (
      insert into service_analytics_event
        (event_id, campaign_slug, event, user_id, session_id, payload, metadata, "timestamp", received_at)
      select e.event_id, e.campaign_slug, e.event, e.user_id, e.session_id, e.payload, e.metadata,
             e."timestamp", e.received_at
      from unnest(${ev.col(0)}::text[], ${ev.col(1)}::text[], ${ev.col(2)}::text[], ${ev.col(3)}::text[],
                  ${ev.col(4)}::text[], ${ev.col(5)}::text[], ${ev.col(6)}::text[], ${ev.col(7)}::jsonb[],
                  ${ev.col(8)}::jsonb[], ${ev.col(9)}::timestamptz[], ${ev.col(10)}::timestamptz[])
        as e(campaign_slug, actor, request_id, event_id, event, user_id, session_id, payload, metadata,
             "timestamp", received_at)
      join won using (campaign_slug, actor, request_id)
    ),
    ses as (
      insert into service_campaign_session (campaign_slug, session_id)
      select distinct s.campaign_slug, s.session_id
      from unnest(${ses.col(0)}::text[], ${ses.col(1)}::text[], ${ses.col(2)}::text[], ${ses.col(3)}::text[])
        as s(campaign_slug, actor, request_id, session_id)
      join won using (campaign_slug, actor, request_id)
      order by s.campaign_slug, s.session_id
      on conflict (campaign_slug, session_id) do nothing
      returning campaign_slug
    ),
    cnt as (
      insert into service_campaign_counter (campaign_slug, name, count)
      select campaign_slug, name, sum(n)::bigint
      from (
        select c.campaign_slug, c.name, c.n
        from unnest(${cnt.col(0)}::text[], ${cnt.col(1)}::text[], ${cnt.col(2)}::text[], ${cnt.col(3)}::text[],
                    ${cnt.col(4)}::bigint[])
          as c(campaign_slug, actor, request_id, name, n)
        join won using (campaign_slug, actor, request_id)
        union all
        select campaign_slug, 'sessions', 1 from ses
      ) increments
      group by campaign_slug, name
      order by campaign_slug, name
      on conflict (campaign_slug, name)
        do update set count = service_campaign_counter.count + excluded.count
    )
    select campaign_slug, actor, request_id from won
  `.execute(db)
  return rows
}

/** `width` column-wise arrays for `unnest`: `push` appends one row, `col(i)` is the i-th column. */
function columns(width: number) {
  const cols: unknown[][] = Array.from({ length: width }, () => [])
  return {
    push(...values: unknown[]) {
      for (let i = 0; i < width; i++) cols[i]!.push(values[i])
    },
    col(i: number): unknown[] {
      return cols[i]!
    },
  }
}
