import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import { createDatabase } from '../src/platform/db/database.js'
import { childEnv } from './fixtures/child-env.js'
import { migratedDataDir } from './fixtures/migrated-data-dir.js'
import { freePort } from './fixtures/server-process.js'

/** `ovasabi <args>` as an operator runs it; resolves when it exits. */
function ovasabi(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; err: string }>((resolve) => {
    const child = spawn(process.execPath, ['bin/ovasabi.js', ...args], {
      env: childEnv({ HOST: '127.0.0.1', ...env }),
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let err = ''
    child.stderr.on('data', (c) => (err += c))
    child.on('exit', (code) => resolve({ code, err }))
  })
}

const dataDir = () => mkdtempSync(join(tmpdir(), 'ovasabi-opsqa-'))
/** A data directory a server has run on before: its start is not the first (no initdb, no migration). */
const usedDataDir = () => migratedDataDir('ovasabi-opsqa-')
/** A line of a stack trace: an operator's error is a sentence, not a dump. */
const STACK = /^\s+at /m

describe('a start that cannot succeed says why, naming the setting', () => {
  it('Redis unreachable: REDIS_UNAVAILABLE with its address and REDIS_URL', async () => {
    const port = await freePort()
    const res = await ovasabi(['serve'], {
      DATA_DIR: await usedDataDir(),
      PORT: String(await freePort()),
      REDIS_URL: `redis://:s3cret-pass@127.0.0.1:${port}`,
    })
    assert.equal(res.code, 1, res.err)
    assert.match(
      res.err,
      new RegExp(
        `REDIS_UNAVAILABLE: Cannot connect to Redis at 127\\.0\\.0\\.1:${port} \\(REDIS_URL\\): .*ECONNREFUSED`,
      ),
    )
    assert.doesNotMatch(res.err, STACK)
    assert.ok(!res.err.includes('s3cret-pass'), res.err)
  })

  it('PostgreSQL unreachable: DATABASE_UNAVAILABLE with its address and DATABASE_URL, no password', async () => {
    const port = await freePort()
    const res = await ovasabi(['serve'], {
      DATA_DIR: dataDir(),
      PORT: String(await freePort()),
      DATABASE_URL: `postgres://ops:s3cret-pass@127.0.0.1:${port}/campaigns`,
    })
    assert.equal(res.code, 1, res.err)
    assert.match(
      res.err,
      new RegExp(
        `DATABASE_UNAVAILABLE: Cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/campaigns \\(DATABASE_URL\\): .*ECONNREFUSED`,
      ),
    )
    assert.doesNotMatch(res.err, STACK)
    assert.ok(!res.err.includes('s3cret-pass'), res.err)
  })

  it('port taken: says so, and closes the embedded database it had opened', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    const dir = await usedDataDir()
    try {
      const res = await ovasabi(['serve'], { DATA_DIR: dir, PORT: String(port) })
      assert.equal(res.code, 1, res.err)
      assert.match(
        res.err,
        new RegExp(
          `Cannot listen on 127\\.0\\.0\\.1:${port} \\(HOST, PORT\\): the address is already in use`,
        ),
      )
      assert.doesNotMatch(res.err, STACK)
      // PGlite was closed, not abandoned: its lock is gone with it.
      assert.ok(!existsSync(join(dir, 'ovasabi.lock')), 'the data directory is still locked')
    } finally {
      taken.close()
    }
  })

  it('a failed migration names itself, and the database is left as it was', async () => {
    const dir = dataDir()
    // A table 001_foundation creates already exists (say, restored by hand): its migration fails.
    const database = await createDatabase({ DATA_DIR: dir, DATABASE_POOL_SIZE: 1 })
    await sql`create table service_campaign_counter (id int)`.execute(database.db)
    await database.close()
    const res = await ovasabi(['migrate'], { DATA_DIR: dir })
    assert.equal(res.code, 1, res.err)
    assert.match(
      res.err,
      /Migration 001_foundation failed: relation "service_campaign_counter" already exists\. Nothing of this run was applied; the database stays at no migration\./,
    )
    assert.doesNotMatch(res.err, STACK)
  })
})
