import { type Migration, Migrator, sql } from 'kysely'
import type { Db } from './database.js'
import * as m001 from './migrations/001_foundation.js'
import * as m003 from './migrations/003_users_referrals.js'
import * as m004 from './migrations/004_leads_webhooks.js'
import * as m005 from './migrations/005_localization_media.js'
import * as m006 from './migrations/006_streams.js'
import * as m007 from './migrations/007_amadeus.js'
import * as m008 from './migrations/008_counter_shards.js'
import * as m009 from './migrations/009_outbox_vacuum.js'
import * as m010 from './migrations/010_webhook_secret_grace.js'
import * as m011 from './migrations/011_quote_events_without_pii.js'
import * as m012 from './migrations/012_delivery_log_by_message.js'
import * as m013 from './migrations/013_revoked_sessions.js'
import * as m014 from './migrations/014_media_quota.js'
import * as m015 from './migrations/015_membership_by_session.js'
import * as m016 from './migrations/016_request_fingerprint.js'
import * as m017 from './migrations/017_referral_milestone_announced.js'
import * as m018 from './migrations/018_stream_token_cutoff_key_owner.js'
import * as m019 from './migrations/019_user_sessions_logout.js'
import * as m020 from './migrations/020_in_flight_media_and_link_case.js'
import * as m021 from './migrations/021_membership_joined_via.js'
import * as m022 from './migrations/022_request_subject.js'
import * as m023 from './migrations/023_join_events_without_pii.js'
import * as m024 from './migrations/024_translation_cache_retention.js'
import * as m025 from './migrations/025_webhook_previous_secrets.js'
import * as m026 from './migrations/026_referral_recheck.js'
import * as m027 from './migrations/027_referral_erasure_indexes.js'
import * as m028 from './migrations/028_referral_catch_up.js'
import * as m029 from './migrations/029_lead_email_normal_form.js'
import * as m030 from './migrations/030_webhook_disabled_at.js'
import * as m031 from './migrations/031_webhook_disabled_at_backfill.js'
import * as m032 from './migrations/032_webhook_outbox_by_endpoint.js'
import * as m033 from './migrations/033_stream_link_keys.js'
import * as m034 from './migrations/034_stream_owner_index.js'
import * as m035 from './migrations/035_user_roles.js'
import * as m036 from './migrations/036_live_ingest_key_hash.js'
import * as m037 from './migrations/037_api_key_expiry.js'
import * as m038 from './migrations/038_lead_text_normal_form.js'
import * as m039 from './migrations/039_stream_person_owner.js'
import * as m040 from './migrations/040_webhook_probe_mark.js'
import * as m041 from './migrations/041_api_key_campaigns.js'
import * as m042 from './migrations/042_outbox_fillfactor.js'
import * as m043 from './migrations/043_password_reset.js'
import * as m044 from './migrations/044_email_verification.js'
import * as m045 from './migrations/045_email_change.js'
import * as m046 from './migrations/046_user_signins.js'

/**
 * Every migration, in order. One list serves PGlite and PostgreSQL. On PostgreSQL, Kysely's
 * migrator holds an advisory lock, so processes starting together apply each migration once.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '001_foundation': m001,
  '003_users_referrals': m003,
  '004_leads_webhooks': m004,
  '005_localization_media': m005,
  '006_streams': m006,
  '007_amadeus': m007,
  '008_counter_shards': m008,
  '009_outbox_vacuum': m009,
  '010_webhook_secret_grace': m010,
  '011_quote_events_without_pii': m011,
  '012_delivery_log_by_message': m012,
  '013_revoked_sessions': m013,
  '014_media_quota': m014,
  '015_membership_by_session': m015,
  '016_request_fingerprint': m016,
  '017_referral_milestone_announced': m017,
  '018_stream_token_cutoff_key_owner': m018,
  '019_user_sessions_logout': m019,
  '020_in_flight_media_and_link_case': m020,
  '021_membership_joined_via': m021,
  '022_request_subject': m022,
  '023_join_events_without_pii': m023,
  '024_translation_cache_retention': m024,
  '025_webhook_previous_secrets': m025,
  '026_referral_recheck': m026,
  '027_referral_erasure_indexes': m027,
  '028_referral_catch_up': m028,
  '029_lead_email_normal_form': m029,
  '030_webhook_disabled_at': m030,
  '031_webhook_disabled_at_backfill': m031,
  '032_webhook_outbox_by_endpoint': m032,
  '033_stream_link_keys': m033,
  '034_stream_owner_index': m034,
  '035_user_roles': m035,
  '036_live_ingest_key_hash': m036,
  '037_api_key_expiry': m037,
  '038_lead_text_normal_form': m038,
  '039_stream_person_owner': m039,
  '040_webhook_probe_mark': m040,
  '041_api_key_campaigns': m041,
  '042_outbox_fillfactor': m042,
  '043_password_reset': m043,
  '044_email_verification': m044,
  '045_email_change': m045,
  '046_user_signins': m046,
}

const TABLE = 'service_schema_migration'

/** A migration failed, or the recorded ones cannot be reconciled with this version's: say which. */
export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MigrationError'
  }
}

/** Names of the migrations the database records as applied (none before the first run). */
async function appliedNames(db: Db): Promise<string[]> {
  const { rows } = await sql<{
    present: boolean
  }>`select to_regclass(${TABLE}) is not null as present`.execute(db)
  if (!rows[0]?.present) return []
  const applied = await sql<{ name: string }>`select name from ${sql.table(TABLE)} order by name`.execute(db)
  return applied.rows.map((r) => r.name)
}

export interface MigrateOptions {
  /**
   * Called with the applied migrations this version does not know: a newer version migrated the
   * database (a rolling deploy, a rollback). They are left alone; this version runs on the schema.
   */
  onNewer?: (names: string[]) => void
}

/** The database is behind this version, and the caller may not change its schema (`ovasabi kg`). */
export class PendingMigrationsError extends MigrationError {
  constructor(
    readonly applied: string[],
    readonly pending: string[],
  ) {
    super(
      `The database has migrations pending for this version: ${pending.join(', ')} (it stands at ` +
        `${applied.at(-1)}). A read-only tool does not change the schema: start the server ` +
        '(`ovasabi serve`) or run `ovasabi migrate` with this version first, or run the version the ' +
        'deployment runs.',
    )
    this.name = 'PendingMigrationsError'
  }
}

/**
 * For tools that must not change the schema: throws `PendingMigrationsError` naming the migrations
 * this version has that the database has not applied. A database with none applied at all (a new,
 * empty one: an embedded `DATA_DIR` made for the tool) has no schema to change, and gets it.
 */
export async function refusePendingMigrations(db: Db): Promise<void> {
  const applied = await appliedNames(db)
  if (applied.length === 0) {
    await migrateToLatest(db)
    return
  }
  const done = new Set(applied)
  const pending = Object.keys(migrations).filter((name) => !done.has(name))
  if (pending.length > 0) throw new PendingMigrationsError(applied, pending)
}

/**
 * Applies every pending migration in one transaction (PostgreSQL and PGlite have transactional
 * DDL), so a failure leaves the database as it was, and says which migration failed.
 */
export async function migrateToLatest(db: Db, options: MigrateOptions = {}): Promise<string[]> {
  const applied = await appliedNames(db)
  // Kysely refuses a database that records a migration it was not given ("corrupted migrations"),
  // which stops a rolled-back or not yet upgraded node from starting at all. As Flyway ignores
  // future migrations by default, each unknown one is given as already done.
  const newer = applied.filter((name) => !(name in migrations))
  if (newer.length > 0) options.onNewer?.(newer)
  const known: Record<string, Migration> = { ...migrations }
  for (const name of newer) known[name] = { up: async () => {} }
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => known },
    migrationTableName: TABLE,
    migrationLockTableName: 'service_schema_migration_lock',
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName
    const reason = error instanceof Error ? error.message : String(error)
    const at = applied.at(-1) ?? 'no migration'
    throw new MigrationError(
      failed
        ? `Migration ${failed} failed: ${reason}. Nothing of this run was applied; the database stays at ${at}.`
        : `Migrations could not run: ${reason}. The database stays at ${at}.`,
      { cause: error },
    )
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
