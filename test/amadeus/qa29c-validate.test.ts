import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { createEventSchemaRegistry } from '../../src/amadeus/event-schemas.js'
import { validateDeclarations } from '../../src/amadeus/validate.js'
import { FEATURES } from '../../src/modules/campaign/campaign.schema.js'
import type { ModuleManifest } from '../../src/platform/module.js'
import { adminHeaders, buildTestApp, json, type TestContext } from '../helper.js'
import { campaignLike, fixtureSources, quoteLike, realtimeLike } from './fixtures.js'

const base = {
  actions: fixtureSources().actions,
  features: FEATURES,
  eventSchemas: createEventSchemaRegistry(),
  modules: [campaignLike, realtimeLike, quoteLike],
}

describe('kg validate catches what the graph would silently lack (qa29c)', () => {
  it('a service table a migration creates but no manifest declares (impact of the database misses it)', () => {
    const problems = validateDeclarations({
      ...base,
      tables: new Set([
        'service_campaign_main',
        'service_quote_main',
        'service_quote_attachment',
        // The migrator's own bookkeeping, and a table of another application sharing the schema.
        'service_schema_migration',
        'service_schema_migration_lock',
        'wp_posts',
      ]),
      tablesComplete: true,
    })
    assert.deepEqual(
      problems.map((p) => [p.code, p.subject]),
      [['UNDECLARED_TABLE', 'table:service_quote_attachment']],
    )
    assert.match(problems[0]!.message, /service_quote_attachment/)
  })

  it('a frame a client sends on /ws or /cable with no schema (the AsyncAPI document would lack it)', () => {
    const reactions: ModuleManifest = {
      ...campaignLike,
      name: 'reactions',
      dependencies: [],
      endpoints: [],
      tables: [],
      events: [
        { name: 'reaction', channel: 'ws', direction: 'consumes' },
        { name: 'cursor', channel: 'ws', direction: 'consumes' },
        { name: 'lead.created', channel: 'webhook', direction: 'consumes' },
      ],
    }
    const problems = validateDeclarations({
      ...base,
      modules: [...base.modules, reactions],
      tables: new Set(['service_campaign_main', 'service_quote_main']),
    })
    assert.deepEqual(
      problems.map((p) => [p.code, p.subject]),
      [['MISSING_EVENT_SCHEMA', 'module:reactions']],
    )
    assert.match(problems[0]!.message, /reaction/)
  })

  describe('on the real app and its migrated database', () => {
    let t: TestContext
    before(async () => {
      t = await buildTestApp()
    })
    after(() => t.close())

    it('the real declarations pass; a table created behind the manifests fails validation', async () => {
      const ok = json(await t.app.inject({ url: '/api/amadeus/validate', headers: adminHeaders }))
      assert.deepEqual(ok.problems, [])
      await sql`create table service_qa29c_orphan (id int primary key)`.execute(t.app.platform.database.db)
      const res = json(await t.app.inject({ url: '/api/amadeus/validate', headers: adminHeaders }))
      assert.equal(res.ok, false)
      assert.deepEqual(
        res.problems.map((p: { code: string; subject: string }) => [p.code, p.subject]),
        [['UNDECLARED_TABLE', 'table:service_qa29c_orphan']],
      )
    })
  })
})
