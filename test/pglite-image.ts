import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { Kysely } from 'kysely'
import { PGliteDialect } from 'kysely-pglite-dialect'
import type { Database } from '../src/platform/db/tables.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { cachedInTmpdir } from './fixtures/cached-in-tmpdir.js'

const DB_DIR = fileURLToPath(new URL('../src/platform/db/', import.meta.url))
const MIGRATIONS = join(DB_DIR, 'migrations')
const PGLITE_PACKAGE = fileURLToPath(
  new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url),
)

/**
 * The migrations and the PGlite build, hashed: an image made from other migrations (a branch
 * switched, a migration edited) is never loaded.
 */
export function imageKey(): string {
  const hash = createHash('sha256')
  hash.update(readFileSync(PGLITE_PACKAGE))
  hash.update(readFileSync(join(DB_DIR, 'migrate.ts')))
  // the sources only: `npm test` runs a compiled copy whose directory has a `.js` beside each
  for (const name of readdirSync(MIGRATIONS)
    .filter((n) => n.endsWith('.ts'))
    .sort()) {
    hash.update(name)
    hash.update(readFileSync(join(MIGRATIONS, name)))
  }
  return hash.digest('hex').slice(0, 16)
}

/** An empty PGlite, every migration applied, dumped (uncompressed: it loads faster). */
async function makeImage(): Promise<Blob> {
  const client = await PGlite.create()
  const db = new Kysely<Database>({ dialect: new PGliteDialect(client) })
  try {
    await migrateToLatest(db)
    return await client.dumpDataDir('none')
  } finally {
    await db.destroy()
  }
}

let image: Promise<Blob> | undefined

/**
 * The embedded database with every migration applied, for test apps to start from: PGlite's
 * initdb and the migrations take ~3 s a database, loading this image ~0.6 s. Made once for a
 * set of migrations and kept in the temporary directory, so the test processes of a run (and
 * the runs after it) share it; the migrations still run at each start and find nothing to do.
 */
export function migratedPgliteImage(): Promise<Blob> {
  image ??= cachedInTmpdir(`ovasabi-test-pglite-${imageKey()}.tar`, async (path) => {
    writeFileSync(path, Buffer.from(await (await makeImage()).arrayBuffer()))
  }).then((path) => new Blob([readFileSync(path)]))
  return image
}
