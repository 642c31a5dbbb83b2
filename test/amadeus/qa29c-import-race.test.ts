import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { Registry } from 'prom-client'
import * as repo from '../../src/amadeus/amadeus.repo.js'
import { createAmadeusService } from '../../src/amadeus/amadeus.service.js'
import { createEventSchemaRegistry } from '../../src/amadeus/event-schemas.js'
import { buildGraph, structureHash } from '../../src/amadeus/graph.builder.js'
import type { ExportDocument, Snapshot } from '../../src/amadeus/graph.schema.js'
import { createDatabase } from '../../src/platform/db/database.js'
import { migrateToLatest } from '../../src/platform/db/migrate.js'
import { AppError } from '../../src/platform/http/errors.js'
import { freshPostgres } from '../helper.js'
import { fixtureSources } from './fixtures.js'
import { lockWaiters } from '../pg-lock-fixtures.js'
import { waitFor } from '../wait-for.js'

function snapshotOf(version: number, campaigns: string[]): Snapshot {
  const graph = buildGraph(
    fixtureSources({ campaigns: campaigns.map((slug) => ({ slug, features: ['quote'] })) }),
  )
  return {
    version,
    hash: structureHash(graph),
    reason: 'start',
    graph,
    diff: { added_nodes: [], removed_nodes: [], added_edges: [], removed_edges: [] },
    created_at: new Date().toISOString(),
  }
}

/**
 * `POST /api/amadeus/import` runs on a live deployment: a node may store its own version (a
 * campaign changed) while the import's transaction is between "is this version free?" and its
 * insert. The import must then not count that version as imported while the row holds another
 * graph: it is refused (409) as a version present with another graph is.
 */
describe('import racing a node that stores the same version (qa29c, PostgreSQL)', {
  skip: !process.env.DATABASE_URL,
}, () => {
  it('the version the other node took is a 409 conflict, not "imported" with its graph lost', async () => {
    const fresh = await freshPostgres()
    const database = await createDatabase(
      { DATA_DIR: '/nonexistent', DATABASE_URL: fresh.url, DATABASE_POOL_SIZE: 3 },
      { memory: true },
    )
    const other = new pg.Client({ connectionString: fresh.url })
    try {
      await migrateToLatest(database.db)
      const amadeus = createAmadeusService({
        db: database.db,
        dialect: 'postgres',
        redis: false,
        modules: { list: () => [] },
        actions: { list: () => [] },
        campaigns: { list: async () => ({ rows: [], total: 0 }) },
        health: { names: () => [], run: async () => ({}) },
        metrics: { registry: new Registry() },
        eventSchemas: createEventSchemaRegistry(),
      })
      const theirs = snapshotOf(1, ['theirs'])
      const backup = [snapshotOf(1, ['restored']), snapshotOf(2, ['restored', 'later'])]
      const doc: ExportDocument = {
        format: 'ovasabi.amadeus/v1',
        exported_at: new Date().toISOString(),
        snapshots: backup,
      }

      // The other node's transaction has stored version 1 but not committed yet.
      await other.connect()
      await other.query('begin')
      await other.query(
        `insert into service_amadeus_snapshot (version, hash, reason, graph, diff, created_at)
         values ($1, $2, $3, $4, $5, $6)`,
        [
          1,
          theirs.hash,
          theirs.reason,
          JSON.stringify(theirs.graph),
          JSON.stringify(theirs.diff),
          theirs.created_at,
        ],
      )
      const importing = amadeus.importAll(doc).then(
        (r) => ({ ok: r }),
        (err: unknown) => ({ err }),
      )
      // The import has seen version 1 free and now waits on the other node's row.
      await waitFor(async () => (await lockWaiters(other)) > 0, 'the import waiting on the other node')
      await other.query('commit')
      const outcome = await importing

      const stored = await repo.all(database.db)
      assert.equal(stored.find((s) => s.version === 1)?.hash, theirs.hash, "the other node's version stays")
      assert.ok(
        'err' in outcome,
        `the import claimed success: ${JSON.stringify('ok' in outcome && outcome.ok)}`,
      )
      assert.ok(outcome.err instanceof AppError, String(outcome.err))
      assert.equal(outcome.err.statusCode, 409)
      assert.equal(outcome.err.code, 'SNAPSHOT_CONFLICT')
      assert.deepEqual(
        stored.map((s) => s.version),
        [1],
        'nothing of the refused import is kept (it is one transaction)',
      )
    } finally {
      await other.end().catch(() => {})
      await database.close()
      await fresh.drop()
    }
  })
})
