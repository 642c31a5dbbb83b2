import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ovasabi.js')

export interface KgResult {
  code: number
  stdout: string
  stderr: string
}

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
export function kg(dataDir: string, ...args: string[]): Promise<KgResult> {
  return run(process.execPath, [BIN, 'kg', ...args], dataDir)
}

/**
 * As `kg`, with stdout through a shell pipeline (`ovasabi kg … | cat`), as an operator pipes it:
 * an OS pipe's buffer (64 KiB), not the larger socket pair `spawn` gives a child.
 */
export function kgPiped(dataDir: string, ...args: string[]): Promise<KgResult> {
  return run('/bin/sh', ['-c', '"$0" "$@" | cat', process.execPath, BIN, 'kg', ...args], dataDir)
}

function run(command: string, argv: string[], dataDir: string): Promise<KgResult> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !['DATABASE_URL', 'REDIS_URL', 'OVASABI_ADMIN_KEY'].includes(k)) env[k] = v
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      env: { ...env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}
