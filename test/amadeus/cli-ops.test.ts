import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { kg } from './kg-cli.js'

describe('ovasabi kg diagram | show (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovasabi-kg-'))
  const data = join(dir, 'data')
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('diagram prints Mermaid; bad options are usage errors', async () => {
    const res = await kg(data, 'diagram', '--focus', 'module:campaign', '--depth', '1')
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stdout, /^flowchart LR\n/)
    assert.match(res.stdout, /class n\d+ focus/)
    const bad = await kg(data, 'diagram', '--depth', 'deep')
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--depth must be an integer/)
  })

  it('show lists nodes by type with their edges and health', async () => {
    const show = await kg(data, 'show', '--type', 'module')
    assert.equal(show.code, 0, show.stderr)
    assert.match(show.stdout, /module:amadeus \[unknown\]/)
    assert.match(show.stdout, /-depends_on-> external:database/)
  })
})
