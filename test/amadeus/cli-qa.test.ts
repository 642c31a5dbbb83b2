import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { kg, kgPiped, serveOnce } from './kg-cli.js'

describe('ovasabi kg: output through a pipe, usage errors (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovasabi-kg-'))
  const data = join(dir, 'data')
  before(() => serveOnce(data))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('export to stdout is the whole document, however large, when stdout is a pipe', async () => {
    const res = await kgPiped(data, 'export')
    assert.equal(res.code, 0, res.stderr)
    assert.ok(
      res.stdout.length > 64 * 1024,
      `a real export is larger than a pipe buffer (${res.stdout.length})`,
    )
    const doc = JSON.parse(res.stdout)
    assert.equal(doc.format, 'ovasabi.amadeus/v1')
    assert.equal(doc.snapshots.length, 1)
    assert.ok(doc.snapshots[0].graph.nodes.some((n: { id: string }) => n.id === 'module:amadeus'))
  })

  it('an unknown option, a missing value or an extra argument is a usage error (exit 2), not a stack trace', async () => {
    for (const args of [
      ['show', '--bogus'],
      ['show', '--type'],
      ['validate', 'extra'],
    ]) {
      const res = await kg(data, ...args)
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
      assert.match(res.stderr, /Usage:\n {2}ovasabi kg show/, args.join(' '))
      assert.doesNotMatch(res.stderr, /\n\s+at /, `${args.join(' ')}: no stack trace`)
    }
  })

  it('export to a file it cannot write says so (exit 1), without a stack trace', async () => {
    const res = await kg(data, 'export', '--out', join(dir, 'no', 'such', 'dir', 'graph.json'))
    assert.equal(res.code, 1)
    assert.match(res.stderr, /^Cannot write .*graph\.json: ENOENT/)
    assert.doesNotMatch(res.stderr, /\n\s+at /)
  })
})
