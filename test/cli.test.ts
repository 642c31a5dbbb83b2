import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { createDatabase } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { loadConfig } from '../src/config.js'
import { DIALECTS, freshPostgres } from './helper.js'
import { childEnv } from './fixtures/child-env.js'
import { migratedDataDir } from './fixtures/migrated-data-dir.js'
import { startServerProcess } from './fixtures/server-process.js'

function cli(args: string[], env: Record<string, string>) {
  const res = spawnSync(process.execPath, ['bin/ovasabi.js', ...args], {
    env: childEnv(env),
    encoding: 'utf8',
    // A command that does not return (a server started by mistake) fails the test instead of hanging it.
    timeout: 120_000,
  })
  return { code: res.status, out: res.stdout, err: res.stderr }
}

describe('ovasabi CLI', () => {
  it('creates an API key printed once, stored only as a hash, usable against the server', async () => {
    const DATA_DIR = await migratedDataDir('ovasabi-cli-')
    const created = cli(['apikey', 'create', '--role', 'admin', '--name', 'ops', '--json'], { DATA_DIR })
    assert.equal(created.code, 0, created.err)
    const key = JSON.parse(created.out)
    assert.deepEqual(Object.keys(key).sort(), ['id', 'key', 'name', 'role'])
    assert.equal(key.role, 'admin')
    assert.match(key.key, /^ovs_/)

    const listed = cli(['apikey', 'list', '--json'], { DATA_DIR })
    assert.equal(listed.code, 0)
    assert.ok(!listed.out.includes(key.key), 'the key is never printed again')
    assert.equal(JSON.parse(listed.out)[0].name, 'ops')

    const server = await startServerProcess({
      DATA_DIR,
      OVASABI_ADMIN_KEY: '',
      DATABASE_URL: '',
      REDIS_URL: '',
    })
    try {
      const ok = await fetch(`${server.url}/api/campaign`, { headers: { 'x-api-key': key.key } })
      assert.equal(ok.status, 200)
      // PGlite allows one process per data directory: the CLI says so instead of corrupting it
      const locked = cli(['apikey', 'list'], { DATA_DIR })
      assert.equal(locked.code, 1)
      assert.match(
        locked.err,
        /DATA_DIR_LOCKED: The data directory .* is in use by another Ovasabi process \(pid \d+\)/,
      )
    } finally {
      server.child.kill('SIGTERM')
      await server.exited
    }
    const revoked = cli(['apikey', 'revoke', key.id], { DATA_DIR })
    assert.equal(revoked.code, 0)
  })

  it('refuses bad configuration with a clear message and usage errors with help', () => {
    const DATA_DIR = mkdtempSync(join(tmpdir(), 'ovasabi-cli-'))
    const bad = cli(['migrate'], { DATA_DIR, PORT: 'http' })
    assert.equal(bad.code, 1)
    assert.match(bad.err, /Invalid configuration:\n {2}- PORT="http": must be integer/)
    const unknown = cli(['frobnicate'], { DATA_DIR })
    assert.equal(unknown.code, 2)
    assert.match(unknown.err, /Unknown command "frobnicate"/)
    // Settings come from the environment: a flag is refused, not ignored.
    for (const command of ['serve', 'migrate']) {
      const flagged = cli([command, '--port', '9000'], { DATA_DIR })
      assert.equal(flagged.code, 1, flagged.err)
      assert.match(flagged.err, new RegExp(`${command} takes no arguments \\(got --port 9000\\).*PORT=9000`))
    }
    const role = cli(['apikey', 'create', '--role', 'root', '--name', 'x'], { DATA_DIR })
    assert.equal(role.code, 1)
    assert.match(role.err, /--role must be one of/)
  })

  it('migrates and reports when up to date', () => {
    const DATA_DIR = mkdtempSync(join(tmpdir(), 'ovasabi-cli-'))
    const first = cli(['migrate'], { DATA_DIR })
    assert.equal(first.code, 0, first.err)
    assert.match(first.out, /Applied: 001_foundation/)
    assert.match(cli(['migrate'], { DATA_DIR }).out, /up to date/)
  })
})

if (DIALECTS.includes('postgres')) {
  describe('migrations on PostgreSQL', () => {
    it('apply once when several processes start together (advisory lock)', async () => {
      const { url, drop } = await freshPostgres()
      try {
        const config = loadConfig({
          DATA_DIR: mkdtempSync(join(tmpdir(), 'ovasabi-mig-')),
          DATABASE_URL: url,
        })
        const handles = await Promise.all(Array.from({ length: 4 }, () => createDatabase(config)))
        const applied = await Promise.all(handles.map((h) => migrateToLatest(h.db)))
        assert.equal(applied.flat().filter((m) => m === '001_foundation').length, 1)
        for (const h of handles) await h.close()
      } finally {
        await drop()
      }
    })
  })
}
