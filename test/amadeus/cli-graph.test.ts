import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { buildTestApp, type TestContext } from '../helper.js'
import { kg } from './kg-cli.js'

// The CLI builds the real app per run; its tests are split over two files to run in parallel.
describe('ovasabi kg validate | impact | history (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovasabi-kg-'))
  const data = join(dir, 'data')
  let t: TestContext
  before(async () => {
    t = await buildTestApp()
  })
  after(async () => {
    await t.close()
    rmSync(dir, { recursive: true, force: true })
  })
  it('validate reports what the running code declares, and exits non-zero on problems', async () => {
    const expected = await t.app.amadeus.validate()
    // The text form is what CI runs: the exit code and one line per problem.
    const text = await kg(data, 'validate')
    assert.equal(text.code, expected.length === 0 ? 0 : 1, text.stderr)
    if (expected.length === 0) assert.match(text.stdout, /Service graph is consistent: \d+ modules/)
    else {
      assert.match(text.stderr, new RegExp(`validation failed \\(${expected.length} problem`))
      for (const p of expected) assert.ok(text.stderr.includes(`[${p.code}] ${p.subject}: ${p.message}`))
    }
  })

  it('impact prints the chain from the database to what relies on it', async () => {
    const res = await kg(data, 'impact', 'database')
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /^Impact of external:database: \d+ node\(s\) rely on it/)
    assert.ok(
      res.stdout.includes(
        'external:database ⇢ module:nexus (depends_on) ⇢ endpoint:POST /api/:campaign/update (exposes)',
      ),
      res.stdout,
    )
    assert.ok(res.stdout.includes('external:database ⇢ module:campaign (depends_on)\n'))
  })

  it('history is empty after several kg commands: they record no snapshot of their own', async () => {
    const history = await kg(data, 'history', '--json')
    assert.equal(history.code, 0)
    assert.deepEqual(JSON.parse(history.stdout), [], 'only a server start or a campaign change records one')
  })
})
