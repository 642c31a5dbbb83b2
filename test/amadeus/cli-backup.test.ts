import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { kg, serveOnce } from './kg-cli.js'

describe('ovasabi kg export | import (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovasabi-kg-'))
  const data = join(dir, 'data')
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('export then import into another data directory; a bad file is refused', async () => {
    await serveOnce(data)
    const file = join(dir, 'graph.json')
    const exp = await kg(data, 'export', '--out', file)
    assert.equal(exp.code, 0, exp.stderr)
    const doc = JSON.parse(readFileSync(file, 'utf8'))
    assert.equal(doc.snapshots.length, 1)
    // Imported twice: what is already there is skipped.
    const other = join(dir, 'other')
    const imp = await kg(other, 'import', file)
    assert.equal(imp.code, 0, imp.stderr)
    assert.match(imp.stdout, /Imported 1 snapshot\(s\), skipped 0 already present/)
    const again = await kg(other, 'import', file)
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /Imported 0 snapshot\(s\), skipped 1 already present/)

    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ format: 'nope' }))
    const refused = await kg(data, 'import', bad)
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /is not an Amadeus export/)
  })
})
