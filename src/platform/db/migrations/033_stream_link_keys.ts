import { type Kysely, sql } from 'kysely'
// The one definition of a stream's duplicate key. It is pure (no I/O, no schema), so importing it
// here keeps this migration's SQL frozen while the keys it writes are those of the version that
// runs it: a database upgraded from far behind gets today's keys in one step. A later change to
// the key rules re-keys with a migration of its own calling this again (a re-run changes nothing).
import { normalizeLink } from '../../../modules/stream/stream.links.js'

const BATCH = 1000
/** Where the outcome is kept (`service_stream_setting`), for an admin to read. */
export const REPORT_KEY = 'link_keys_033'
/** Kept duplicates listed in the report at most (their count is always there). */
const REPORT_LIMIT = 1000

interface Row {
  id: number
  link: string
  key: string
}

/** A row that keeps its stored key because another row holds the key it would get. */
export interface KeptDuplicate {
  id: number
  key: string
  /** The key its link has today, and the row that holds it. */
  wanted: string
  same_as: number
}

/**
 * Streams stored before a link form was folded into another kept the key of the rules of their
 * day (`youtu.be/ID?t=42`, `youtube.com/watch?list=PL&v=ID`, `twitch.tv/Name/clip/Slug`,
 * `twitch.tv/name?sr=a`): a lookup by today's key missed them, and the same link sent again
 * became a second stream. Every row whose link (kept as entered) has another key today is
 * re-keyed to it. Where that key is already held — by a row already under it, or by an older row
 * re-keyed here (the lowest id wins, as the lookup prefers) — the row keeps its stored key: both
 * streams stay (merging would lose one's owner, pin, notes), the lookup answers the one under
 * today's key, and the kept ones are listed in `service_stream_setting` under `REPORT_KEY`
 * (`{rekeyed, kept_count, kept:[{id, key, wanted, same_as}]}`) for an admin to merge or delete.
 * Rows whose link is not an http(s) URL (campaign stream placeholders) are left as they are.
 */
export async function rekeyStreamLinks(db: Kysely<any>): Promise<{ rekeyed: number; kept: KeptDuplicate[] }> {
  const rows: Row[] = []
  for (let after = 0; ; ) {
    const page = await sql<{ id: number | string; link: string; normalized_link: string }>`
      select id, link, normalized_link from service_stream_main
      where id > ${after} order by id limit ${BATCH}`.execute(db)
    for (const r of page.rows) rows.push({ id: Number(r.id), link: r.link, key: r.normalized_link })
    if (page.rows.length < BATCH) break
    after = Number(page.rows.at(-1)!.id)
  }
  const wants = new Map<number, string>()
  for (const row of rows) {
    const want = normalizeLink(row.link)
    if (want !== undefined && want !== row.key) wants.set(row.id, want)
  }
  // Rows moving to a key held at the end by a row that does not move, or by a lower id moving to
  // it, stay; a row that stays holds its own key, which may be another's target: until stable.
  const moving = new Map(wants)
  let holders = new Map<string, number>()
  for (let changed = true; changed; ) {
    changed = false
    holders = new Map()
    for (const row of rows) if (!moving.has(row.id)) holders.set(row.key, row.id)
    for (const [id, want] of moving) {
      if (holders.has(want)) {
        moving.delete(id)
        changed = true
      } else holders.set(want, id)
    }
  }
  const byId = new Map(rows.map((r) => [r.id, r]))
  const kept: KeptDuplicate[] = [...wants]
    .filter(([id]) => !moving.has(id))
    .map(([id, wanted]) => ({ id, key: byId.get(id)!.key, wanted, same_as: holders.get(wanted)! }))

  // Two steps, so no row's new key meets another's old one in the unique index on the way.
  const changes = [...moving].map(([id, key]) => ({ id, key }))
  for (const step of ['park', 'set'] as const) {
    for (let i = 0; i < changes.length; i += BATCH) {
      const batch = changes.slice(i, i + BATCH)
      await sql`
        update service_stream_main s
        set normalized_link = ${step === 'park' ? sql`'rekey-033:' || c.id` : sql`c.key`}
        from jsonb_to_recordset(${JSON.stringify(batch)}::jsonb) as c(id bigint, key text)
        where s.id = c.id`.execute(db)
    }
  }
  if (changes.length > 0 || kept.length > 0) {
    const value = JSON.stringify({
      rekeyed: changes.length,
      kept_count: kept.length,
      kept: kept.slice(0, REPORT_LIMIT),
    })
    await sql`
      insert into service_stream_setting (key, value) values (${REPORT_KEY}, ${value}::jsonb)
      on conflict (key) do update set value = excluded.value, updated_at = now()`.execute(db)
  }
  return { rekeyed: changes.length, kept }
}

export async function up(db: Kysely<any>): Promise<void> {
  await rekeyStreamLinks(db)
}

/** The keys rows had before cannot be told back from their links: they stay as re-keyed. */
export async function down(): Promise<void> {}
