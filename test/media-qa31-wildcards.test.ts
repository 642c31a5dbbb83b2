import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import sharp from 'sharp'
import { allowedTypes } from '../src/modules/media/media.rules.js'
import type { Campaign } from '../src/modules/campaign/campaign.schema.js'
import { DIALECTS, json, sendAction } from './helper.js'
import { mediaSuite, publishedUpload } from './media-fixtures.js'

/**
 * `custom_rules.media_allowed_types` may say `image/*`, `video/*` or `audio/*` (QA 31): each stands
 * for the kind's types the server checks by their bytes and publishes without where they were
 * made, not for every type of the kind (a TIFF keeps its GPS position in EXIF: listed by name only).
 */

const withTypes = (types: unknown[]) =>
  ({ metadata: { custom_rules: { media_allowed_types: types } } }) as Campaign

describe('media_allowed_types wildcards, as uploads read them', () => {
  it('expands image/*, video/* and audio/* to the checked types of each kind, beside named types', () => {
    assert.deepEqual(allowedTypes(withTypes(['image/*'])).sort(), [
      'image/avif',
      'image/gif',
      'image/heic',
      'image/heic-sequence',
      'image/heif',
      'image/heif-sequence',
      'image/jpeg',
      'image/png',
      'image/webp',
    ])
    assert.deepEqual(allowedTypes(withTypes(['AUDIO/*; q=1'])).sort(), [
      'audio/mp4',
      'audio/mpeg',
      'audio/ogg',
      'audio/x-m4a',
    ])
    const mixed = allowedTypes(withTypes(['video/*', 'application/pdf', 'image/tiff', 'video/mp4']))
    assert.ok(mixed.includes('video/webm') && mixed.includes('video/quicktime'))
    assert.ok(mixed.includes('application/pdf') && mixed.includes('image/tiff'))
    assert.equal(mixed.filter((t) => t === 'video/mp4').length, 1, 'each type once')
    assert.ok(!mixed.some((t) => t.startsWith('image/') && t !== 'image/tiff'))
    // Not a wildcard uploads are compared with: it admits nothing (the campaign check refuses it).
    assert.deepEqual(allowedTypes(withTypes(['text/*'])), ['text/*'])
  })
})

for (const dialect of DIALECTS) {
  describe(`an image/* campaign's uploads (${dialect})`, () => {
    const suite = mediaSuite(dialect, {
      campaign: { features: ['media'], metadata: { custom_rules: { media_allowed_types: ['image/*'] } } },
    })

    it('takes a PNG and a JPEG, and refuses a PDF and a TIFF (415 MEDIA_TYPE_NOT_ALLOWED)', async () => {
      const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#c33' } })
        .png()
        .toBuffer()
      const { body } = await publishedUpload(suite.app, suite.base, suite.slug, suite.token, {
        bytes: png,
        type: 'image/png',
        filename: 'dot.png',
      })
      assert.equal(body.status, 'ready', JSON.stringify(body))
      const jpeg = await sharp(png).jpeg().toBuffer()
      const second = await publishedUpload(suite.app, suite.base, suite.slug, suite.token, {
        bytes: jpeg,
        type: 'image/jpg',
        filename: 'dot.jpg',
      })
      assert.equal(second.body.content_type, 'image/jpeg', JSON.stringify(second.body))

      for (const [type, filename] of [
        ['application/pdf', 'doc.pdf'],
        ['image/tiff', 'scan.tiff'],
      ]) {
        const refused = await sendAction(suite.app, suite.slug, suite.token, 'upload_media', {
          filename,
          content_type: type,
          size: 100,
        })
        assert.equal(refused.statusCode, 415, `${type}: ${refused.body}`)
        assert.equal(json(refused).error.code, 'MEDIA_TYPE_NOT_ALLOWED', type)
      }
    })
  })
}
