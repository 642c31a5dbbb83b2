import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { seedMigrated } from '../fixtures/migrated-data-dir.js'
import { BIN, type CliResult, runCli } from '../fixtures/run-cli.js'

/**
 * Starts and stops the real server's app on the embedded database in `dataDir`, as `ovasabi serve`
 * does (without listening): it stores the start snapshot, which `kg` commands never do.
 */
export async function serveOnce(dataDir: string): Promise<void> {
  await seedMigrated(dataDir)
  const app = await buildApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), { logger: false })
  await app.ready()
  await app.close()
}

/**
 * Runs the real CLI on its own embedded database in `dataDir`: a new one is made migrated, as a
 * deployment's is (PGlite's initdb and the migrations would cost each new directory ~5 s).
 */
export async function kg(dataDir: string, ...args: string[]): Promise<CliResult> {
  await seedMigrated(dataDir)
  return runCli([BIN, 'kg', ...args], { DATA_DIR: dataDir })
}

/**
 * As `kg`, with stdout through a shell pipeline (`ovasabi kg … | cat`), as an operator pipes it:
 * an OS pipe's buffer (64 KiB), not the larger socket pair `spawn` gives a child.
 */
export async function kgPiped(dataDir: string, ...args: string[]): Promise<CliResult> {
  await seedMigrated(dataDir)
  return runCli(
    ['-c', '"$0" "$@" | cat', process.execPath, BIN, 'kg', ...args],
    { DATA_DIR: dataDir },
    '/bin/sh',
  )
}
