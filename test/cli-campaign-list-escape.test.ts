// `ovasabi campaign list` on titles stored before control characters were refused: the human
// output escapes tabs, line breaks and other control characters, so a title cannot fake a column
// or a row; `--json` keeps the stored title as it is.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { loadConfig } from '../src/config.js'
import { createPlatform } from '../src/platform/platform.js'
import { BIN, runCli } from './fixtures/run-cli.js'
import { freshPostgres, uniqueSlug } from './helper.js'

describe('ovasabi campaign list escapes control characters in titles', () => {
  let env: Record<string, string>
  let cleanup: () => Promise<void>
  let forged: string
  let controls: string
  let plain: string
  // A title that, printed raw, would end its row and print a row of its own for a made-up slug.
  const forgedTitle = 'Spring sale\tx\nfake-slug\tFree money'
  const controlsTitle = 'a\rb\u001b[31mred\u007f\u2028c\\td'
  before(async () => {
    if (process.env.DATABASE_URL) {
      const fresh = await freshPostgres()
      env = { DATABASE_URL: fresh.url }
      cleanup = fresh.drop
    } else {
      const dataDir = mkdtempSync(join(tmpdir(), 'ovasabi-cli-escape-'))
      env = { DATA_DIR: dataDir }
      cleanup = async () => rmSync(dataDir, { recursive: true, force: true })
    }
    const platform = await createPlatform(loadConfig({ ...env, LOG_LEVEL: 'silent' }))
    forged = uniqueSlug('forged')
    controls = uniqueSlug('controls')
    plain = uniqueSlug('plain')
    try {
      await platform.database.db
        .insertInto('service_campaign_main')
        .values(
          [
            [forged, forgedTitle],
            [controls, controlsTitle],
            [plain, 'Autumn sale'],
          ].map(([slug, title]) => ({
            slug: slug!,
            title: title!,
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

  it('prints one row per campaign with the title escaped; --json keeps the stored title', async () => {
    const text = await runCli([BIN, 'campaign', 'list'], env)
    assert.equal(text.code, 0, text.stderr)
    const lines = text.stdout.trimEnd().split('\n')
    assert.deepEqual(
      lines,
      [
        `${forged}\tSpring sale\\tx\\nfake-slug\\tFree money`,
        `${controls}\ta\\rb\\u{001b}[31mred\\u{007f}\\u{2028}c\\\\td`,
        `${plain}\tAutumn sale`,
      ],
      text.stdout,
    )
    assert.ok(!lines.some((l) => l.startsWith('fake-slug')), text.stdout)
    for (const line of lines) assert.equal(line.split('\t').length, 2, JSON.stringify(line))

    const listed = await runCli([BIN, 'campaign', 'list', '--json'], env)
    assert.equal(listed.code, 0, listed.stderr)
    const rows = JSON.parse(listed.stdout) as Array<{ slug: string; title: string }>
    assert.equal(rows.find((r) => r.slug === forged)?.title, forgedTitle)
    assert.equal(rows.find((r) => r.slug === controls)?.title, controlsTitle)
  })
})
