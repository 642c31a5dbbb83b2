// Migration 031: endpoints already disabled when 030 added `disabled_at` get one, so the console's
// "Recover messages" has a window for them: the time of their latest delivery attempt, else their
// `updated_at`. Lines that record an event while the endpoint was disabled (attempt 0) are no
// attempt; a time already set, and enabled endpoints, are left alone.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Kysely } from 'kysely'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { DIALECTS, withDatabase } from './helper.js'
import { migrateBefore } from './migrate-before.js'

const at = (iso: string) => new Date(iso)

/** An endpoint row as a version before 031 left it, with its delivery log: `[attempt, status, time]`, oldest first. */
async function seedEndpoint(
  db: Kysely<any>,
  row: { id: string; enabled: boolean; updatedAt: Date; disabledAt?: Date; reason?: string },
  log: Array<[attempt: number, status: number | null, time: Date]> = [],
) {
  await db
    .insertInto('service_notification_webhook')
    .values({
      id: row.id,
      campaign_slug: 's',
      url: 'https://crm.example/hook',
      events: JSON.stringify(['*']),
      secret_sealed: 'sealed',
      created_by: 'test',
      enabled: row.enabled,
      disabled_reason: row.reason ?? null,
      disabled_at: row.disabledAt ?? null,
      created_at: at('2026-01-01T00:00:00Z'),
      updated_at: row.updatedAt,
    })
    .execute()
  for (const [i, [attempt, status, time]] of log.entries()) {
    const outbox = await db
      .insertInto('service_notification_outbox')
      .values({
        message_id: `msg_${row.id}_${i}`,
        webhook_id: row.id,
        campaign_slug: 's',
        event: 'lead.created',
        payload: JSON.stringify({ type: 'lead.created' }),
        status: attempt === 0 ? 'cancelled' : 'failed',
        attempts: attempt,
        created_at: time,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    await db
      .insertInto('service_notification_delivery')
      .values({
        outbox_id: outbox.id,
        webhook_id: row.id,
        attempt,
        status_code: status,
        error: attempt === 0 ? 'endpoint disabled when the event happened' : null,
        duration_ms: 1,
        created_at: time,
      })
      .execute()
  }
}

for (const dialect of DIALECTS) {
  describe(`migration 031 on endpoints disabled before 030 (${dialect})`, () => {
    it('sets disabled_at from the latest attempt, else updated_at; leaves set times and enabled endpoints alone', async () => {
      await withDatabase(dialect, async (database) => {
        const db = database.db as Kysely<any>
        await migrateBefore(db, '031')
        const updated = at('2026-03-01T12:00:00Z')
        // Disabled by a 410; events came after, recorded (attempt 0) but not sent.
        await seedEndpoint(
          db,
          { id: 'wh_gone', enabled: false, updatedAt: updated, reason: 'receiver answered 410 Gone' },
          [
            [1, 503, at('2026-02-01T10:00:00Z')],
            [2, 410, at('2026-02-01T10:05:00Z')],
            [0, null, at('2026-02-20T08:00:00Z')],
          ],
        )
        // Disabled on upgrade by 025 after the receiver's 401; edited since.
        await seedEndpoint(
          db,
          { id: 'wh_creds', enabled: false, updatedAt: updated, reason: 'credentials' },
          [
            [1, 204, at('2026-01-15T09:00:00Z')],
            [1, 401, at('2026-01-16T09:00:00Z')],
          ],
        )
        // Never tried, or only events recorded while disabled: the time it was last written.
        await seedEndpoint(db, { id: 'wh_quiet', enabled: false, updatedAt: at('2026-02-10T07:30:00Z') })
        await seedEndpoint(db, { id: 'wh_skipped', enabled: false, updatedAt: at('2026-02-11T07:30:00Z') }, [
          [0, null, at('2026-02-25T00:00:00Z')],
        ])
        // Disabled by a 410 since 030: it knows its time.
        const known = at('2026-02-28T23:00:00Z')
        await seedEndpoint(db, { id: 'wh_known', enabled: false, updatedAt: updated, disabledAt: known }, [
          [3, 410, at('2026-02-28T22:59:59Z')],
        ])
        // Enabled: nothing to set, whatever its log says.
        await seedEndpoint(db, { id: 'wh_on', enabled: true, updatedAt: updated }, [
          [1, 500, at('2026-02-02T00:00:00Z')],
        ])

        assert.equal((await migrateToLatest(db))[0], '031_webhook_disabled_at_backfill')
        const rows = await db
          .selectFrom('service_notification_webhook')
          .select(['id', 'enabled', 'disabled_at', 'updated_at'])
          .orderBy('id')
          .execute()
        const byId = Object.fromEntries(rows.map((r) => [r.id, r]))
        const time = (id: string) => byId[id].disabled_at && new Date(byId[id].disabled_at).toISOString()
        assert.equal(time('wh_gone'), '2026-02-01T10:05:00.000Z', 'the 410, not the later recorded events')
        assert.equal(time('wh_creds'), '2026-01-16T09:00:00.000Z', 'the refused attempt, not the later edit')
        assert.equal(time('wh_quiet'), '2026-02-10T07:30:00.000Z', 'no attempt: updated_at')
        assert.equal(time('wh_skipped'), '2026-02-11T07:30:00.000Z', 'only recorded events: updated_at')
        assert.equal(time('wh_known'), known.toISOString(), 'a time already set stays')
        assert.equal(byId.wh_on.disabled_at, null, 'an enabled endpoint keeps null')
        assert.equal(byId.wh_on.enabled, true)
        for (const r of rows) {
          const expected =
            r.id === 'wh_quiet'
              ? '2026-02-10T07:30:00.000Z'
              : r.id === 'wh_skipped'
                ? '2026-02-11T07:30:00.000Z'
                : updated.toISOString()
          assert.equal(new Date(r.updated_at).toISOString(), expected, `${r.id}: updated_at untouched`)
        }
      })
    })
  })
}
