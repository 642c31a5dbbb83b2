// Second QA pass on the leads CSV export: fullwidth formula signs (＝ ＋ － ＠), which spreadsheets
// with East Asian input turn into their ASCII forms, and the tab / CR-led cells OWASP names.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { csvCell } from '../src/modules/quote/quote.csv.js'
import { adminHeaders, DIALECTS, suiteApp } from './helper.js'
import { exportedLead } from './leads-fixtures.js'

describe('CSV cells, second pass', () => {
  it('neutralise fullwidth = + - @ first, and after leading whitespace', () => {
    assert.equal(csvCell('＝1+1'), "'＝1+1")
    assert.equal(csvCell('＋81 3 1234'), "'＋81 3 1234")
    assert.equal(csvCell('－2+3'), "'－2+3")
    assert.equal(csvCell('＠SUM(A1)'), "'＠SUM(A1)")
    assert.equal(csvCell('  ＝HYPERLINK("http://evil")'), `"'  ＝HYPERLINK(""http://evil"")"`)
    // The ideographic space U+3000 is whitespace too.
    assert.equal(csvCell('\u3000＝1'), "'\u3000＝1")
    assert.equal(csvCell('\n＠x'), `"'\n＠x"`)
  })

  it('neutralise every tab- or CR-led cell, whatever follows (OWASP)', () => {
    assert.equal(csvCell('\tplain'), "'\tplain")
    assert.equal(csvCell('\t＝1'), "'\t＝1")
    assert.equal(csvCell('\rplain'), `"'\rplain"`)
    assert.equal(csvCell('\r＋1'), `"'\r＋1"`)
  })

  it('leave fullwidth signs elsewhere in a cell alone', () => {
    assert.equal(csvCell('a＝b'), 'a＝b')
    assert.equal(csvCell('Tokyo＠Office'), 'Tokyo＠Office')
    assert.equal(csvCell('１２３'), '１２３')
  })
})

for (const dialect of DIALECTS) {
  describe(`leads CSV export, second pass (${dialect})`, () => {
    const s = suiteApp({ dialect })

    it('exports fullwidth and tab-led formulas neutralised, from the stored leads', async () => {
      const { slug, columns, row } = await exportedLead(s.app, {
        name: '－Ada',
        email: 'fullwidth@example.com',
        company: '＝HYPERLINK("http://evil.example","x")',
        message: '\u3000＠SUM(1+1)*cmd',
        interest: '\t=1',
      })
      // Each stored value as the export writes it: no cell begins with a formula sign.
      const lead = (
        await s.app.inject({ method: 'GET', url: `/api/campaign/${slug}/leads`, headers: adminHeaders })
      ).json().leads[0]
      for (const column of ['name', 'company', 'message', 'interest']) {
        const stored = lead[column]
        if (typeof stored !== 'string' || stored === '') continue
        const cell = csvCell(stored)
        assert.ok(row.includes(cell), `${column}: ${cell} in ${row}`)
        assert.match(cell, /^"?'/, `${column} is neutralised: ${cell}`)
      }
      assert.ok(columns.includes('company'))
      assert.ok(row.includes(`"'＝HYPERLINK(""http://evil.example"",""x"")"`), row)
      assert.ok(row.includes("'－Ada"), row)
    })
  })
}
