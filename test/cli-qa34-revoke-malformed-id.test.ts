// `ovasabi apikey revoke <id>` with an id holding a NUL (qa34) sent it to the database, which
// refuses to compare text with one: the CLI printed the database's error ("invalid byte sequence
// for encoding UTF8: 0x00") instead of saying there is no such key. `ApiKeyService.revoke` now takes
// such an id as absent, as `get` does: the CLI's usual "No active key" and exit code 1. A NUL cannot
// be passed in a process's argv, so the command runs in-process, through `main`, as bin/ovasabi.js
// runs it.
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { main } from '../src/cli.js'
import { DIALECTS, freshPostgres } from './helper.js'
import { migratedDataDir } from './fixtures/migrated-data-dir.js'

/** Runs `argv` through the CLI's `main`, with what it prints to stdout and stderr. */
async function run(argv: string[]) {
  const out: string[] = []
  const err: string[] = []
  const { log, error, warn } = console
  console.log = (...args: unknown[]) => void out.push(args.map(String).join(' '))
  console.error = console.warn = (...args: unknown[]) => void err.push(args.map(String).join(' '))
  try {
    return { code: await main(argv), out: out.join('\n'), err: err.join('\n') }
  } finally {
    Object.assign(console, { log, error, warn })
  }
}

for (const dialect of DIALECTS) {
  describe(`ovasabi apikey revoke of a malformed id (${dialect})`, () => {
    const saved = { ...process.env }
    let dataDir = ''
    let drop: (() => Promise<void>) | undefined
    before(async () => {
      dataDir = await migratedDataDir('ovasabi-cli-revoke-')
      // `main` reads its configuration from the environment, as the command does.
      const fresh = dialect === 'postgres' ? await freshPostgres() : undefined
      drop = fresh?.drop
      // No Redis: a prefix set for the test run's own Redis keys is no setting of this command.
      delete process.env.REDIS_PREFIX
      Object.assign(process.env, {
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
        DATABASE_URL: fresh?.url ?? '',
        REDIS_URL: '',
        OVASABI_ADMIN_KEY: '',
      })
    })
    after(async () => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
      await drop?.()
      rmSync(dataDir, { recursive: true, force: true })
    })

    it('an id holding a NUL is no active key, as an unknown id is: exit code 1, no database error', async () => {
      const unknown = await run(['apikey', 'revoke', 'nosuchkey'])
      assert.equal(unknown.code, 1, unknown.err)
      assert.equal(unknown.out, 'No active key nosuchkey.', unknown.err)

      const malformed = await run(['apikey', 'revoke', 'abc\u0000def'])
      assert.equal(malformed.err, '', 'nothing on stderr')
      assert.equal(malformed.code, 1)
      assert.match(malformed.out, /^No active key abc.+def\.$/)
      assert.ok(!malformed.out.includes('\u0000'), 'the NUL is printed escaped')

      // A real key is still revoked by its id.
      const made = await run(['apikey', 'create', '--name', 'ops', '--json'])
      assert.equal(made.code, 0, made.err)
      const { id } = JSON.parse(made.out) as { id: string }
      const revoked = await run(['apikey', 'revoke', id])
      assert.equal(revoked.code, 0, revoked.err)
      assert.equal(revoked.out, `Revoked ${id}.`)
    })
  })
}
