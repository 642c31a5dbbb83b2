import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { ulid } from 'ulid'
import { loadConfig } from '../src/config.js'
import { createDatabase } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { seedMigrated } from './fixtures/migrated-data-dir.js'
import { BIN, runCli } from './fixtures/run-cli.js'
import { ADMIN_KEY, DIALECTS, freshPostgres } from './helper.js'

/** `ovasabi <args>` with `env` (its database and admin key). */
const cli = (env: Record<string, string>, ...args: string[]) => runCli([BIN, ...args], env)

// `ovasabi kg` reads a deployment's database (often production's, from an operator's checkout).
// Its app ran the server's start hook: it created the default campaign and the OVASABI_ADMIN_KEY
// row, started the webhook and referral workers, and the upload sweeper failed uploads in flight.
for (const dialect of DIALECTS) {
  describe(`ovasabi kg writes nothing to the database it reads (${dialect})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovasabi-kg-ro-'))
    let drop: (() => Promise<void>) | undefined
    after(async () => {
      await drop?.()
      rmSync(dir, { recursive: true, force: true })
    })

    it('export, show, validate: no campaign, no key, no snapshot, no upload touched', async () => {
      const env: Record<string, string> = { DATA_DIR: join(dir, 'data'), OVASABI_ADMIN_KEY: ADMIN_KEY }
      if (dialect === 'postgres') {
        const fresh = await freshPostgres()
        drop = fresh.drop
        env.DATABASE_URL = fresh.url
      } else await seedMigrated(env.DATA_DIR!)
      const open = () => createDatabase(loadConfig({ ...env, LOG_LEVEL: 'silent' }))
      // A fresh, migrated database with one upload still `uploading` two days on: what the
      // sweeper at a server's start fails as one a crash interrupted (the servers' to decide).
      const uploadId = ulid()
      let database = await open()
      try {
        await migrateToLatest(database.db)
        await database.db
          .insertInto('service_campaign_main')
          .values({
            slug: 'prod',
            title: 'Production',
            description: '',
            metadata: {},
            created_by: 'test',
            updated_at: new Date(),
          })
          .execute()
        const past = new Date(Date.now() - 2 * 86_400_000)
        await database.db
          .insertInto('service_media_main')
          .values({
            id: uploadId,
            campaign_slug: 'prod',
            owner_user_id: 'guest',
            owner_session_id: 'sess',
            status: 'uploading',
            filename: 'a.png',
            declared_type: 'image/png',
            max_bytes: 1000,
            size_bytes: null,
            storage_key: `prod/${uploadId}/original`,
            upload_expires_at: past,
            upload_used_at: past,
            metadata: {},
            updated_at: past,
          })
          .execute()
      } finally {
        await database.close()
      }

      const exported = await cli(env, 'kg', 'export')
      assert.equal(exported.code, 0, exported.stderr)
      assert.deepEqual(JSON.parse(exported.stdout).snapshots, [])
      for (const args of [['show', '--json'], ['validate']]) {
        const res = await cli(env, 'kg', ...args)
        assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`)
      }
      const shown = JSON.parse((await cli(env, 'kg', 'show', '--json')).stdout)
      assert.ok(
        shown.nodes.some((n: { id: string }) => n.id === 'campaign:prod'),
        'the graph is still read from it',
      )

      database = await open()
      try {
        const { db } = database
        const campaigns = await db.selectFrom('service_campaign_main').select('slug').execute()
        assert.deepEqual(
          campaigns.map((c) => c.slug),
          ['prod'],
          'no default campaign created',
        )
        assert.deepEqual(await db.selectFrom('service_security_apikey').select('id').execute(), [], 'no key')
        assert.deepEqual(
          await db.selectFrom('service_amadeus_snapshot').select('version').execute(),
          [],
          'no snapshot',
        )
        const upload = await db
          .selectFrom('service_media_main')
          .select('status')
          .where('id', '=', uploadId)
          .executeTakeFirstOrThrow()
        assert.equal(upload.status, 'uploading', 'the servers’ upload left to them')
      } finally {
        await database.close()
      }
    })
  })
}
