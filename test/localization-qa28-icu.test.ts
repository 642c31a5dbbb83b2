import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { describe, it } from 'node:test'
import { listenUpstream } from './fixtures/libretranslate.js'
import { adminHeaders, createCampaign, DIALECTS, json } from './helper.js'
import { translationSuite } from './localization-fixtures.js'

const tag = () => randomBytes(3).toString('hex')

const WORDS: Record<string, string> = {
  yes: 'oui',
  no: 'non',
  or: 'ou',
  he: 'il',
  she: 'elle',
  they: 'iel',
  replied: 'a répondu',
}

/**
 * A LibreTranslate stand-in that translates word by word into French and, as engines often do,
 * leaves ICU syntax (braces, argument names, keywords) as it found it.
 */
async function startWordUpstream() {
  const state = { url: '', close: async () => {} }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    res.writeHead(200, { 'content-type': 'application/json' })
    if (req.method === 'GET') {
      return res.end(
        JSON.stringify([
          { code: 'en', name: 'English', targets: ['fr'] },
          { code: 'fr', name: 'French', targets: ['en'] },
        ]),
      )
    }
    const { q } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const texts: string[] = Array.isArray(q) ? q : [q]
    const out = texts.map((t) =>
      t.replace(/\b[A-Za-z]+\b/g, (w) => {
        const fr = WORDS[w.toLowerCase()]
        if (fr === undefined) return w
        return w[0] === w[0]?.toUpperCase() ? fr.charAt(0).toUpperCase() + fr.slice(1) : fr
      }),
    )
    res.end(JSON.stringify({ translatedText: Array.isArray(q) ? out : out[0] }))
  })
  Object.assign(state, await listenUpstream(server))
  return state
}

for (const dialect of DIALECTS) {
  describe(`localization QA 28: select and plural option text is not a placeholder (${dialect})`, () => {
    const suite = translationSuite(dialect, startWordUpstream, { LIBRETRANSLATE_BATCH_WINDOW_MS: '5' })

    it('accepts a catalog whose locales word the options of a select differently', async () => {
      const slug = await createCampaign(suite.ctx.app)
      const put = (payload: Record<string, Record<string, string>>) =>
        suite.ctx.app.inject({
          method: 'PUT',
          url: `/api/campaign/${slug}/catalog`,
          headers: adminHeaders,
          payload,
        })
      const ok = await put({
        replied: {
          en: '{gender, select, male {He} female {She} other {They}} replied',
          fr: '{gender, select, male {Il} female {Elle} other {Iel}} a répondu',
        },
        items: {
          en: '{count, plural, =0 {Nothing} one {One item} other {Items}}',
          fr: '{count, plural, =0 {Rien} one {Un article} other {Articles}}',
        },
      })
      assert.equal(ok.statusCode, 200, ok.body)
      assert.equal(json(ok).keys, 2)

      // An argument renamed inside an option is still a mismatch.
      const renamed = await put({
        who: {
          en: '{gender, select, male {He is {name}} other {They are {name}}}',
          fr: '{gender, select, male {Il est {nom}} other {Iel est {nom}}}',
        },
      })
      assert.equal(renamed.statusCode, 422, renamed.body)
      assert.equal(json(renamed).error.code, 'PLACEHOLDER_MISMATCH')
      // So is a select argument renamed.
      const select = await put({
        who: { en: '{gender, select, male {He} other {They}}', fr: '{genre, select, male {Il} other {Iel}}' },
      })
      assert.equal(json(select).error.code, 'PLACEHOLDER_MISMATCH')
    })

    it('keeps the translated option words of a message with two select arguments', async () => {
      const word = `z${tag()}`
      // Two select arguments: sent whole (not hoisted), and the engine keeps their syntax.
      const q = `{a, select, x {Yes} other {No}} or {b, select, x {Yes} other {No}} ${word}`
      const res = await suite.translate({ q, source: 'en', target: 'fr' })
      assert.equal(res.statusCode, 200, res.body)
      const [t] = json(res).translations
      assert.equal(t.provider, 'libretranslate')
      assert.equal(t.text, `{a, select, x {Oui} other {Non}} ou {b, select, x {Oui} other {Non}} ${word}`)
    })

    it('still puts back a placeholder the engine renamed inside an option', async () => {
      const word = `z${tag()}`
      // The stand-in renames nothing; a name it translates ({they} → {iel}) is put back.
      const q = `{a, select, x {Yes {they}} other {No}} or {b, select, x {Yes} other {No}} ${word}`
      const res = await suite.translate({ q, source: 'en', target: 'fr' })
      assert.equal(res.statusCode, 200, res.body)
      const [t] = json(res).translations
      assert.equal(t.provider, 'libretranslate')
      assert.equal(
        t.text,
        `{a, select, x {Oui {they}} other {Non}} ou {b, select, x {Oui} other {Non}} ${word}`,
      )
    })
  })
}
