import { type KyselyPlugin, QueryNode, SelectQueryNode, UpdateQueryNode } from 'kysely'
import type { Db } from '../src/platform/db/database.js'

/**
 * The plans of the statements `run` sends through the query builder: each select (and each
 * update, with `updates`) is sent as `explain <statement>`, so it is planned and never run.
 * Planner choices are what index tests assert, never timings.
 */
export async function plansOf(
  db: Db,
  run: (db: Db) => Promise<unknown>,
  options: { updates?: boolean } = {},
): Promise<string[]> {
  const plans: string[] = []
  const explaining: KyselyPlugin = {
    transformQuery: ({ node }) =>
      SelectQueryNode.is(node) || (options.updates && UpdateQueryNode.is(node))
        ? QueryNode.cloneWithExplain(node, undefined, undefined)
        : node,
    transformResult: async ({ result }) => {
      plans.push(result.rows.map((r) => Object.values(r as object)[0]).join('\n'))
      return { ...result, rows: [] }
    },
  }
  await run(db.withPlugin(explaining))
  return plans
}
