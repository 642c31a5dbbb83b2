// `ovasabi campaign list` on titles stored before they were checked: a blank title is named
// "(untitled)", and tabs, line breaks and other control characters are escaped in the human
// output, so a title cannot fake a column or a row; `--json` keeps every stored title as it is.
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { loadConfig } from '../src/config.js'
import { createPlatform } from '../src/platform/platform.js'
import { BIN, runCli } from './fixtures/run-cli.js'
import { freshPostgres, uniqueSlug } from './helper.js'
import { migratedDataDir } from './fixtures/migrated-data-dir.js'

describe('ovasabi campaign list on titles stored before their checks', () => {
  let env: Record<string, string>
  let cleanup: () => Promise<void>
  /** Slug → stored title, in the order they are stored: the order the list prints them. */
  const titles = new Map<string, string>()
  const blank = uniqueSlug('a-blank')
  const named = uniqueSlug('b-named')
  // A title that, printed raw, would end its row and print a row of its own for a made-up slug.
  const forged = uniqueSlug('c-forged')
  const controls = uniqueSlug('d-controls')
  titles.set(blank, '   ')
  titles.set(named, 'Spring sale')
  titles.set(forged, 'Spring sale\tx\nfake-slug\tFree money')
  titles.set(controls, 'a\rb\u001b[31mred\u007f\u2028c\\td')

  before(async () => {
    if (process.env.DATABASE_URL) {
      const fresh = await freshPostgres()
      env = { DATABASE_URL: fresh.url }
      cleanup = fresh.drop
    } else {
      const dataDir = await migratedDataDir('ovasabi-cli-list-')
      env = { DATA_DIR: dataDir }
      cleanup = async () => rmSync(dataDir, { recursive: true, force: true })
    }
    const platform = await createPlatform(loadConfig({ ...env, LOG_LEVEL: 'silent' }))
    try {
      await platform.database.db
        .insertInto('service_campaign_main')
        .values(
          [...titles].map(([slug, title]) => ({
            slug,
            title,
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
  after(() => cleanup())

  it('prints one row per campaign: (untitled) for a blank title, control characters escaped', async () => {
    const text = await runCli([BIN, 'campaign', 'list'], env)
    assert.equal(text.code, 0, text.stderr)
    const lines = text.stdout.trimEnd().split('\n')
    assert.deepEqual(
      lines,
      [
        `${blank}\t(untitled)`,
        `${named}\tSpring sale`,
        `${forged}\tSpring sale\\tx\\nfake-slug\\tFree money`,
        `${controls}\ta\\rb\\u{001b}[31mred\\u{007f}\\u{2028}c\\\\td`,
      ],
      text.stdout,
    )
    assert.ok(!lines.some((l) => l.startsWith('fake-slug')), text.stdout)
    for (const line of lines) assert.equal(line.split('\t').length, 2, JSON.stringify(line))
  })

  it('--json keeps every stored title as it is', async () => {
    const listed = await runCli([BIN, 'campaign', 'list', '--json'], env)
    assert.equal(listed.code, 0, listed.stderr)
    const rows = JSON.parse(listed.stdout) as Array<{ slug: string; title: string }>
    assert.deepEqual(new Map(rows.map((r) => [r.slug, r.title])), titles)
  })
})
