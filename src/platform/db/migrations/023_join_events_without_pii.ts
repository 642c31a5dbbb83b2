import { type Kysely, sql } from 'kysely'

/**
 * Joins are recorded in the analytics log without the person (`sensitive` of `user.register` in
 * user.actions.ts): a join sent with someone else's credential (a friend's logged-in browser, an
 * operator's API key) is logged under that other actor, where erasing the new person cannot find
 * it. This scrubs the joins logged before, the way the action now records them. (The lists are
 * copied here on purpose: a migration must keep doing what it did when it ran.)
 */
const PERSONAL = ['password', 'email', 'name', 'metadata']
const EVENTS = ['user.register', 'register']
/** Rows of the log (by id) one statement looks at. */
const BATCH = 10_000

/**
 * Walks the log by primary key in ranges of `batch` ids, so no statement reads the whole table
 * or runs for long, and an empty table costs one read. An UPDATE never blocks reads or inserts;
 * only the rows scrubbed stay locked until the migrations commit, and live writes never update
 * old join events. Rows already scrubbed are left as they are: running it again changes nothing.
 */
export async function scrubJoinEvents(db: Kysely<any>, batch = BATCH): Promise<number> {
  const { rows } = await sql<{ first: string | null; last: string | null }>`
    select min(id)::text as first, max(id)::text as last from service_analytics_event
  `.execute(db)
  const { first, last } = rows[0] ?? {}
  if (first == null || last == null) return 0
  let scrubbed = 0
  for (let from = BigInt(first) - 1n; from < BigInt(last); from += BigInt(batch)) {
    const res = await sql`
      update service_analytics_event e
      set payload = e.payload || (
        select jsonb_object_agg(k, '[redacted]') from jsonb_object_keys(e.payload) k
        where k = any(${PERSONAL}::text[])
      )
      where e.id > ${from.toString()}::bigint and e.id <= ${(from + BigInt(batch)).toString()}::bigint
        and e.event = any(${EVENTS}::text[])
        and jsonb_typeof(e.payload) = 'object'
        and exists (
          select 1 from jsonb_each(e.payload) f
          where f.key = any(${PERSONAL}::text[]) and f.value <> '"[redacted]"'::jsonb
        )
    `.execute(db)
    scrubbed += Number(res.numAffectedRows ?? 0n)
  }
  return scrubbed
}

export async function up(db: Kysely<any>): Promise<void> {
  await scrubJoinEvents(db)
}

/** Nothing to undo: what was scrubbed is gone. */
export async function down(): Promise<void> {}
