import { type Kysely, type Migration, Migrator } from 'kysely'
import { migrations as all } from '../src/platform/db/migrate.js'

/**
 * Applies the migrations whose names sort before `name` only: the schema a database had before
 * that migration, whatever later ones this version also has (`migrateToLatest` then runs `name`
 * and every one after it).
 */
export async function migrateBefore(db: Kysely<any>, name: string): Promise<void> {
  const migrations: Record<string, Migration> = {}
  for (const [migration, steps] of Object.entries(all)) if (migration < name) migrations[migration] = steps
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'service_schema_migration',
    migrationLockTableName: 'service_schema_migration_lock',
  }).migrateToLatest()
  if (error) throw error
}
