import { readdirSync } from 'node:fs'
import { type Kysely, type Migration, Migrator } from 'kysely'

const MIGRATIONS_DIR = new URL('../src/platform/db/migrations/', import.meta.url)

/**
 * Applies the migrations whose names sort before `name` only: the schema a database had before
 * that migration, whatever later ones this version also has (`migrateToLatest` then runs `name`
 * and every one after it).
 */
export async function migrateBefore(db: Kysely<any>, name: string): Promise<void> {
  const migrations: Record<string, Migration> = {}
  for (const file of readdirSync(MIGRATIONS_DIR).sort()) {
    const migration = file.replace(/\.ts$/, '')
    if (migration < name) migrations[migration] = await import(new URL(file, MIGRATIONS_DIR).href)
  }
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'service_schema_migration',
    migrationLockTableName: 'service_schema_migration_lock',
  }).migrateToLatest()
  if (error) throw error
}
