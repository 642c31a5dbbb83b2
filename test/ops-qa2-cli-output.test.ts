import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { loadConfig } from '../src/config.js'
import { createPlatform } from '../src/platform/platform.js'
import { BIN, type CliResult, runCli } from './fixtures/run-cli.js'
import { migratedDataDir } from './fixtures/migrated-data-dir.js'

const KEYS = 400
const CAMPAIGNS = 1500

/**
 * `ovasabi <args> | <reader>` through a shell, as an operator pipes it: stdout is an OS pipe
 * (64 KiB of buffer), not the larger socket pair `spawn` gives a child. The pipeline's status is
 * the CLI's own (`set -o pipefail` is not POSIX): it is written to stderr.
 */
async function piped(dataDir: string, reader: string, ...args: string[]): Promise<CliResult> {
  const script = `{ "$0" "$@"; echo "exit=$?" >&2; } | ${reader}`
  const { stdout, stderr } = await runCli(
    ['-c', script, process.execPath, BIN, ...args],
    { DATA_DIR: dataDir },
    '/bin/sh',
  )
  const status = /exit=(\d+)\s*$/.exec(stderr)
  return { code: status ? Number(status[1]) : -1, stdout, stderr: stderr.replace(/exit=\d+\s*$/, '') }
}

// `ovasabi apikey list | gzip` kept the first 64 KiB and exited 0: the CLI's caller exits as
// soon as a command returns, and a write to a pipe is asynchronous (the `kg export` defect, fixed
// there alone). Every command's output is now handed to the OS before the process exits.
describe('CLI output through a pipe is whole, for every printing command', () => {
  let dataDir = ''
  before(async () => {
    dataDir = await migratedDataDir('ovasabi-cli-pipe-')
    const platform = await createPlatform(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }))
    try {
      for (let i = 0; i < KEYS; i++)
        await platform.apiKeys.create({
          name: `key-${String(i).padStart(4, '0')}-${'k'.repeat(200)}`,
          role: 'editor',
        })
      await platform.database.db
        .insertInto('service_campaign_main')
        .values(
          Array.from({ length: CAMPAIGNS }, (_, i) => ({
            slug: `pipe-${String(i).padStart(5, '0')}`,
            title: `Campaign ${i} ${'t'.repeat(120)}`,
            description: '',
            metadata: {},
            created_by: 'test',
            updated_at: new Date(),
          })),
        )
        .execute()
    } finally {
      await platform.close()
    }
  })
  after(() => rmSync(dataDir, { recursive: true, force: true }))

  it('apikey list, as text and as JSON', async () => {
    const text = await piped(dataDir, 'cat', 'apikey', 'list')
    assert.equal(text.code, 0, text.stderr)
    assert.ok(text.stdout.length > 64 * 1024, `larger than a pipe buffer (${text.stdout.length})`)
    const lines = text.stdout.trimEnd().split('\n')
    assert.equal(lines.length, KEYS, `${lines.length} of ${KEYS} lines arrived`)
    assert.match(lines.at(-1)!, /\teditor\tkey-0399-k+\tactive$/)

    const json = await piped(dataDir, 'cat', 'apikey', 'list', '--json')
    assert.equal(json.code, 0, json.stderr)
    assert.equal(JSON.parse(json.stdout).length, KEYS)
  })

  it('campaign list, as text and as JSON (through gzip, as a backup would)', async () => {
    const text = await piped(dataDir, 'cat', 'campaign', 'list')
    assert.equal(text.code, 0, text.stderr)
    assert.ok(text.stdout.length > 64 * 1024, `larger than a pipe buffer (${text.stdout.length})`)
    assert.equal(text.stdout.trimEnd().split('\n').length, CAMPAIGNS)

    const json = await piped(dataDir, 'gzip -c | gzip -dc', 'campaign', 'list', '--json')
    assert.equal(json.code, 0, json.stderr)
    const rows = JSON.parse(json.stdout) as { slug: string }[]
    assert.equal(rows.length, CAMPAIGNS)
    assert.equal(rows.at(-1)!.slug, `pipe-${String(CAMPAIGNS - 1).padStart(5, '0')}`)
  })

  it('a reader that stops early (| head) ends the command quietly, with no stack trace', async () => {
    const head = await piped(dataDir, 'head -n 2', 'campaign', 'list')
    assert.equal(head.stdout.trimEnd().split('\n').length, 2)
    assert.doesNotMatch(head.stderr, /EPIPE|\n\s+at /, head.stderr)
  })
})
