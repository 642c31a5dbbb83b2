// `POST /api/apikeys` with `campaigns` checked each slug with its own lookup, up to 50 queries for
// one request (qa34). The slugs are now checked in one query: the 404 CAMPAIGN_NOT_FOUND still
// names every unknown slug, in the order given (a repeat once), and a key of known ones keeps them.
// The queries are counted on the app's own database handle (its Kysely executor, which every query
// of that handle goes through), those naming the unknown slugs only, which no background work of
// the app names; PGlite has no pg_stat_statements.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { CompiledQuery, QueryExecutor } from 'kysely'
import { adminHeaders, buildTestApp, createCampaign, DIALECTS, json, type TestContext } from './helper.js'

/**
 * The queries the app's database sends while `run` goes on naming any of `slugs`, which must name no
 * campaign (the app's background work on campaigns just made would be counted too): every query of
 * the app's db goes through its executor, watched meanwhile.
 */
async function queriesNaming<R>(ctx: TestContext, slugs: readonly string[], run: () => Promise<R>) {
  const executor = ctx.app.platform.database.db.getExecutor() as QueryExecutor & {
    executeQuery: QueryExecutor['executeQuery']
  }
  const queries: string[] = []
  const own = Object.hasOwn(executor, 'executeQuery')
  const original = executor.executeQuery
  executor.executeQuery = ((query: CompiledQuery, ...rest: unknown[]) => {
    if (query.parameters.some((p) => slugs.includes(p as string))) queries.push(query.sql)
    return (original as (...args: unknown[]) => ReturnType<QueryExecutor['executeQuery']>).call(
      executor,
      query,
      ...rest,
    )
  }) as QueryExecutor['executeQuery']
  try {
    return { result: await run(), queries }
  } finally {
    if (own) executor.executeQuery = original
    else delete (executor as { executeQuery?: unknown }).executeQuery
  }
}

for (const dialect of DIALECTS) {
  describe(`POST /api/apikeys checks its campaigns in one query (${dialect})`, () => {
    let ctx: TestContext
    before(async () => {
      ctx = await buildTestApp({ dialect })
    })
    after(() => ctx.close())

    test('unknown slugs are named in the order given, known ones kept', async () => {
      const known = [await createCampaign(ctx.app), await createCampaign(ctx.app)]
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/api/apikeys',
        headers: adminHeaders,
        payload: {
          name: 'scoped',
          role: 'editor',
          campaigns: ['zz-missing', known[0], 'aa-missing', 'zz-missing'],
        },
      })
      assert.equal(res.statusCode, 404, res.body)
      const err = json(res).error
      assert.equal(err.code, 'CAMPAIGN_NOT_FOUND')
      assert.match(err.message, /^No campaign zz-missing, aa-missing: /)
      assert.ok(!err.message.includes(known[0]!), 'a known campaign is not named')

      const made = await ctx.app.inject({
        method: 'POST',
        url: '/api/apikeys',
        headers: adminHeaders,
        payload: { name: 'scoped', role: 'editor', campaigns: [known[1], known[0], known[1]] },
      })
      assert.equal(made.statusCode, 201, made.body)
      assert.deepEqual(json(made).campaigns, [...known].sort(), 'each once (the key keeps them sorted)')
    })

    test('the whole list is one query, whatever its length', async () => {
      const known = await Promise.all(Array.from({ length: 5 }, () => createCampaign(ctx.app)))
      const unknown = Array.from({ length: 45 }, (_, i) => `missing-${i}`)
      const read = await queriesNaming(ctx, unknown, () =>
        ctx.app.inject({
          method: 'POST',
          url: '/api/apikeys',
          headers: adminHeaders,
          payload: {
            name: 'fifty',
            role: 'editor',
            campaigns: [...unknown.slice(0, 20), ...known, ...unknown.slice(20)],
          },
        }),
      )
      assert.equal(read.result.statusCode, 404, read.result.body)
      assert.equal(json(read.result).error.message.split(':')[0], `No campaign ${unknown.join(', ')}`)
      assert.equal(read.queries.length, 1, read.queries.join('\n'))
      assert.match(read.queries[0]!, /\(\$1, .*, \$50\)/, 'the fifty slugs in it')

      // The known ones alone: the key is made.
      const made = await ctx.app.inject({
        method: 'POST',
        url: '/api/apikeys',
        headers: adminHeaders,
        payload: { name: 'five', role: 'editor', campaigns: known },
      })
      assert.equal(made.statusCode, 201, made.body)
      assert.deepEqual(json(made).campaigns, [...known].sort())
    })
  })
}
