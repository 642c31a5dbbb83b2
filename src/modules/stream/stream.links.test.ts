import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { detectPlatform, normalizeLink } from './stream.links.js'

describe('stream links', () => {
  it('normalises scheme, www, trailing slash, fragments and tracking parameters', () => {
    const key = normalizeLink('https://twitch.tv/example')
    assert.equal(key, 'twitch.tv/example')
    for (const variant of [
      'http://www.twitch.tv/example/',
      'https://WWW.Twitch.tv/example?utm_source=discord&utm_medium=chat',
      'https://twitch.tv/example#chat',
      'https://twitch.tv/example?fbclid=abc&si=xyz',
    ]) {
      assert.equal(normalizeLink(variant), key, variant)
    }
    assert.equal(normalizeLink('https://youtube.com/watch?v=abc&utm_source=x'), 'youtube.com/watch?v=abc')
    assert.notEqual(
      normalizeLink('https://youtube.com/watch?v=abc'),
      normalizeLink('https://youtube.com/watch?v=abd'),
    )
    assert.notEqual(normalizeLink('https://twitch.tv/Example'), normalizeLink('https://twitch.tv/other'))
  })

  it('refuses anything that is not an absolute http(s) URL', () => {
    for (const bad of [
      'twitch.tv/x',
      'ftp://twitch.tv/x',
      'javascript:alert(1)',
      'https://',
      'https://a b.com/',
      '',
    ]) {
      assert.equal(normalizeLink(bad), undefined, bad)
    }
  })

  it('detects the platform from the host', () => {
    assert.equal(detectPlatform('https://www.tiktok.com/@user/live'), 'tiktok')
    assert.equal(detectPlatform('https://m.facebook.com/x/videos/1'), 'facebook')
    assert.equal(detectPlatform('https://fb.watch/abc'), 'facebook')
    assert.equal(detectPlatform('https://twitch.tv/example'), 'twitch')
    assert.equal(detectPlatform('https://youtu.be/abc'), 'youtube')
    assert.equal(detectPlatform('https://www.instagram.com/u/live'), 'instagram')
    assert.equal(detectPlatform('https://kick.com/someone'), 'kick')
    assert.equal(detectPlatform('https://example.com/live'), 'other')
    assert.equal(detectPlatform('https://nottwitch.tv/x'), 'other')
  })
})
