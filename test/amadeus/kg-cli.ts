import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { BIN, type CliResult, runCli } from '../fixtures/run-cli.js'

/**
 * Starts and stops the real server's app on the embedded database in `dataDir`, as `ovasabi serve`
 * does (without listening): it stores the start snapshot, which `kg` commands never do.
 */
export async function serveOnce(dataDir: string): Promise<void> {
  const app = await buildApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), { logger: false })
  await app.ready()
  await app.close()
}

/** Runs the real CLI on its own embedded database in `dataDir`. */
export function kg(dataDir: string, ...args: string[]): Promise<CliResult> {
  return runCli([BIN, 'kg', ...args], { DATA_DIR: dataDir })
}

/**
 * As `kg`, with stdout through a shell pipeline (`ovasabi kg … | cat`), as an operator pipes it:
 * an OS pipe's buffer (64 KiB), not the larger socket pair `spawn` gives a child.
 */
export function kgPiped(dataDir: string, ...args: string[]): Promise<CliResult> {
  return runCli(
    ['-c', '"$0" "$@" | cat', process.execPath, BIN, 'kg', ...args],
    { DATA_DIR: dataDir },
    '/bin/sh',
  )
}
