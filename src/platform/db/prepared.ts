import { type RawBuilder, sql } from 'kysely'
import type pg from 'pg'

const MARKER = '/* prepared:'
/** The marker at the start of a statement (after the template's indentation); anchored, so cheap. */
const MARKED = /^\s*\/\* prepared:([a-z][a-z0-9-]*) \*\//

/**
 * Marks a hot statement whose text never changes (its data goes in as parameters) to run as a
 * named prepared statement on PostgreSQL: parsed and planned once per connection instead of once
 * per call. The commit path's statements are large CTEs whose planning cost as much as running
 * them. Put it first in the template: sql`${prepared('commit-records')} with ...`. On PGlite it
 * is only a comment.
 *
 * Only for statements whose plan cannot go wrong as tables grow: inserts and reads of small or
 * key-probed tables. PostgreSQL settles on a generic plan after five runs and keeps it until the
 * table is next analysed, so a read planned while a table was empty (a fresh install) would keep
 * its sequential scan while the table grows: measured, 15 ms instead of 0.2 ms per call.
 */
export function prepared(name: string): RawBuilder<unknown> {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`Bad prepared statement name ${name}`)
  return sql.raw(`${MARKER}${name} */`)
}

/**
 * Runs marked statements of a pg client as named prepared statements (pg parses a name once per
 * connection). Installed on every new connection of the pool.
 */
export function preparingClient(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown
  client.query = ((text: unknown, values?: unknown, ...rest: unknown[]) => {
    const marked = typeof text === 'string' ? MARKED.exec(text) : null
    if (marked) return query({ name: marked[1], text, values })
    return query(text, values, ...rest)
  }) as typeof client.query
}
