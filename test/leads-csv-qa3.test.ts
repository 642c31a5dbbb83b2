// Third QA pass on the leads CSV export (OWASP CSV injection): the small-form formula signs
// ﹦ ﹢ ﹣ ﹫ (U+FE66, U+FE62, U+FE63, U+FE6B), which NFKC folding turns into = + - @, are
// neutralised as the ASCII and fullwidth ones are; every OWASP lead character, in every form.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { csvCell } from '../src/modules/quote/quote.csv.js'
import { DIALECTS, suiteApp } from './helper.js'
import { exportedLead } from './leads-fixtures.js'

/** = + - @ as ASCII, fullwidth and small forms: each folds (NFKC) to the ASCII sign. */
const SIGNS = ['=', '+', '-', '@', '＝', '＋', '－', '＠', '﹦', '﹢', '﹣', '﹫']

describe('CSV cells, third pass', () => {
  it('the signs listed are every compatibility form of = + - @', () => {
    for (const sign of SIGNS) assert.match(sign.normalize('NFKC'), /^[=+\-@]$/, sign)
  })

  it('neutralise the small forms first, and after leading whitespace or a line break', () => {
    assert.equal(csvCell('﹦1+1'), "'﹦1+1")
    assert.equal(csvCell('﹢81 3 1234'), "'﹢81 3 1234")
    assert.equal(csvCell('﹣2+3'), "'﹣2+3")
    assert.equal(csvCell('﹫SUM(A1)'), "'﹫SUM(A1)")
    assert.equal(csvCell(' ﹦HYPERLINK("http://evil")'), `"' ﹦HYPERLINK(""http://evil"")"`)
    assert.equal(csvCell('\u3000﹫x'), "'\u3000﹫x")
    assert.equal(csvCell('\n﹣1'), `"'\n﹣1"`)
  })

  it('neutralise every form of every OWASP lead, and tab- or CR-led cells', () => {
    for (const sign of SIGNS) {
      for (const lead of ['', ' ', '\t', '\r', '\n', '\u3000']) {
        const cell = csvCell(`${lead}${sign}cmd|' /C calc'!A0`)
        assert.match(cell, /^"?'/, JSON.stringify({ lead, sign, cell }))
      }
    }
    assert.equal(csvCell('\tplain'), "'\tplain")
    assert.equal(csvCell('\rplain'), `"'\rplain"`)
  })

  it('leave the small forms elsewhere in a cell alone', () => {
    assert.equal(csvCell('a﹦b'), 'a﹦b')
    assert.equal(csvCell('Tokyo﹫Office'), 'Tokyo﹫Office')
    assert.equal(csvCell('x﹣y'), 'x﹣y')
  })
})

for (const dialect of DIALECTS) {
  describe(`leads CSV export, third pass (${dialect})`, () => {
    const s = suiteApp({ dialect })

    it('exports small-form formulas neutralised, from the stored leads', async () => {
      const { cell: at } = await exportedLead(s.app, {
        name: '﹣Ada',
        email: 'smallform@example.com',
        company: '﹦HYPERLINK("http://evil.example","x")',
        message: '﹫SUM(1+1)*cmd',
        interest: '﹢1',
      })
      assert.equal(at('name'), "'﹣Ada")
      assert.equal(at('company'), `"'﹦HYPERLINK(""http://evil.example"",""x"")"`)
      assert.equal(at('message'), "'﹫SUM(1+1)*cmd")
      assert.equal(at('interest'), "'﹢1")
    })
  })
}
