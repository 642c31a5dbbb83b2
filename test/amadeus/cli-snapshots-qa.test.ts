import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { structureHash } from '../../src/amadeus/graph.builder.js'
import { kg, serveOnce } from './kg-cli.js'

// The operator's case: `ovasabi kg` from a checkout, pointed at production's database, whose
// history holds the structure production's servers run (here: a campaign this checkout lacks).
describe('ovasabi kg stores no snapshot of the checkout it runs in (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovasabi-kg-'))
  const target = join(dir, 'empty')
  let prodHash = ''
  after(() => rmSync(dir, { recursive: true, force: true }))

  it("restores another deployment's history into an empty database", async () => {
    const source = join(dir, 'source')
    await serveOnce(source)
    const file = join(dir, 'prod.json')
    assert.equal((await kg(source, 'export', '--out', file)).code, 0)
    const doc = JSON.parse(readFileSync(file, 'utf8'))
    const v1 = doc.snapshots[0]
    v1.graph.nodes.push({ id: 'campaign:prod-only', type: 'campaign', label: 'prod-only', data: {} })
    v1.graph.nodes.sort((a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1))
    v1.hash = structureHash(v1.graph)
    prodHash = v1.hash
    writeFileSync(file, JSON.stringify(doc))

    const imp = await kg(target, 'import', file)
    assert.equal(imp.code, 0, imp.stderr)
    assert.match(imp.stdout, /Imported 1 snapshot\(s\), skipped 0 already present/)
  })

  it('read-only commands leave that history as it was', async () => {
    for (const args of [['validate'], ['show', '--json'], ['impact', 'redis'], ['diagram'], ['export']]) {
      const res = await kg(target, ...args)
      assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`)
    }
    const history = await kg(target, 'history', '--json')
    assert.deepEqual(
      JSON.parse(history.stdout).map((r: { version: number; hash: string }) => [r.version, r.hash]),
      [[1, prodHash]],
      "no version of this checkout's structure on top of production's",
    )
  })
})
