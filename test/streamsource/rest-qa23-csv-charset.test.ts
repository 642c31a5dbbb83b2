import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DIALECTS, json } from '../helper.js'
import { editorApp, uniqueLink } from './helpers.js'

/**
 * A CSV import is bytes: a spreadsheet's plain "CSV" is saved in Windows-1252, not UTF-8. Read
 * as UTF-8 regardless, `Zürich` was stored as `Z\uFFFDrich` and answered 200 as if imported.
 */
for (const dialect of DIALECTS) {
  describe(`StreamSource CSV import charset (${dialect})`, () => {
    const suite = editorApp(dialect)

    const csv = (link: string, title: Buffer) =>
      Buffer.concat([Buffer.from(`link,title\r\n${link},`), title, Buffer.from('\r\n')])
    const upload = (body: Buffer, contentType: string) =>
      suite.ctx.app.inject({
        method: 'POST',
        url: '/api/v1/streams/import',
        headers: { ...suite.editor.headers, 'content-type': contentType },
        payload: body,
      })

    it('reads the body in the charset its Content-Type names', async () => {
      for (const charset of ['iso-8859-1', 'windows-1252', '"Windows-1252"']) {
        const link = uniqueLink()
        const res = await upload(
          csv(link, Buffer.from('Joe\x92s Z\xfcrich \x80', 'latin1')),
          `text/csv; charset=${charset}`,
        )
        assert.equal(res.statusCode, 200, res.body)
        assert.equal(json(res).created, 1, res.body)
        assert.equal(json(res).results[0].stream.title, 'Joe’s Zürich €', charset)
      }
      const link = uniqueLink()
      const res = await upload(csv(link, Buffer.from('Zürich')), 'text/csv; charset=utf-8')
      assert.equal(json(res).results[0].stream.title, 'Zürich')
    })

    it('refuses bytes that are not text in that charset instead of storing replacement characters', async () => {
      const link = uniqueLink()
      const res = await upload(csv(link, Buffer.from('Z\xfcrich', 'latin1')), 'text/csv')
      assert.equal(res.statusCode, 422, res.body)
      assert.deepEqual(Object.keys(json(res).details), ['body'])
      assert.match(json(res).error, /UTF-8/)
      const lookup = await suite.ctx.app.inject({
        method: 'GET',
        url: `/api/v1/streams?url=${encodeURIComponent(link)}`,
        headers: suite.editor.headers,
      })
      assert.equal(json(lookup).meta.total_count, 0, 'nothing was imported')
    })

    it('refuses a charset it cannot read with a 422, not a 500', async () => {
      const res = await upload(csv(uniqueLink(), Buffer.from('x')), 'text/csv; charset=x-no-such-charset')
      assert.equal(res.statusCode, 422, res.body)
      assert.match(json(res).error, /x-no-such-charset/)
    })
  })
}
