import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  canonicalLinkKey,
  channelSpan,
  detectPlatform,
  normalizeLink,
  olderLinkKeys,
} from './stream.links.js'

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

  it("folds the channel name's case where the platform ignores it, and nothing else", () => {
    for (const [a, b] of [
      ['https://twitch.tv/Foo', 'https://www.twitch.tv/foo/'],
      ['https://m.twitch.tv/FOO', 'https://m.twitch.tv/foo'],
      ['https://kick.com/SomeOne', 'https://kick.com/someone'],
      ['https://youtube.com/@MyHandle/live', 'https://www.youtube.com/@myhandle/live'],
      ['https://youtube.com/c/MyName', 'https://youtube.com/c/myname'],
      ['https://youtube.com/user/MyName/videos', 'https://youtube.com/user/myname/videos'],
      ['https://www.tiktok.com/@User/live', 'https://tiktok.com/@user/live'],
      ['https://instagram.com/SomeOne/live', 'https://instagram.com/someone/live'],
      ['https://facebook.com/SomePage/videos/1', 'https://facebook.com/somepage/videos/1'],
    ]) {
      assert.equal(normalizeLink(a!), normalizeLink(b!), `${a} = ${b}`)
    }
    // A clip is its slug whatever channel the link names (see `sameStreamForm`); the slug keeps its case.
    assert.equal(normalizeLink('https://twitch.tv/Foo/clip/AbC'), 'clips.twitch.tv/AbC')
    for (const [a, b] of [
      ['https://youtube.com/watch?v=AbC', 'https://youtube.com/watch?v=abc'],
      ['https://youtu.be/AbC', 'https://youtu.be/abc'],
      ['https://youtube.com/channel/UCAbC', 'https://youtube.com/channel/UCabc'],
      ['https://youtube.com/live/AbC', 'https://youtube.com/live/abc'],
      ['https://clips.twitch.tv/AbC', 'https://clips.twitch.tv/abc'],
      ['https://twitch.tv/foo/clip/AbC', 'https://twitch.tv/foo/clip/abc'],
      ['https://instagram.com/p/AbC', 'https://instagram.com/p/abc'],
      ['https://fb.watch/AbC', 'https://fb.watch/abc'],
      ['https://vm.tiktok.com/AbC', 'https://vm.tiktok.com/abc'],
      ['https://example.com/Foo', 'https://example.com/foo'],
      ['https://twitch.tv:8080/Foo', 'https://twitch.tv:8080/foo'],
    ]) {
      assert.notEqual(normalizeLink(a!), normalizeLink(b!), `${a} != ${b}`)
    }
  })

  it('channelSpan and canonicalLinkKey find and fold the name in a stored key', () => {
    assert.deepEqual(channelSpan('twitch.tv/Foo/clip/X'), [10, 13])
    assert.deepEqual(channelSpan('youtube.com/c/Name?x=1'), [14, 18])
    assert.equal(channelSpan('youtube.com/watch?v=AbC'), undefined)
    assert.equal(channelSpan('campaign-stream:abc'), undefined)
    assert.equal(canonicalLinkKey('twitch.tv/Foo/videos'), 'twitch.tv/foo/videos')
    assert.equal(canonicalLinkKey('twitch.tv/Foo/clip/X'), 'clips.twitch.tv/X')
    assert.equal(canonicalLinkKey('youtube.com/@Me?si=Q'), 'youtube.com/@me?si=Q')
  })

  it("gives a YouTube video's every form the key of `watch?v=ID`, in the id's case", () => {
    for (const link of [
      'https://youtu.be/AbC_1-z?si=x&t=42',
      'https://www.youtube.com/live/AbC_1-z?feature=share',
      'https://m.youtube.com/shorts/AbC_1-z',
      'https://youtube.com/embed/AbC_1-z?start=3',
      'https://www.youtube-nocookie.com/embed/AbC_1-z',
      'https://www.youtube.com/watch?v=AbC_1-z&list=PL1&index=2&t=3s',
    ]) {
      assert.equal(normalizeLink(link), 'youtube.com/watch?v=AbC_1-z', link)
    }
    for (const link of [
      'https://youtube.com/embed/live_stream?channel=UC1',
      'https://youtube.com/embed/videoseries?list=PL1',
      'https://youtube.com/playlist?list=PL1',
      'https://youtube.com:8080/watch?v=AbC',
      'https://youtu.be/a/b',
    ]) {
      assert.ok(!normalizeLink(link)?.startsWith('youtube.com/watch'), link)
    }
    assert.equal(canonicalLinkKey('youtu.be/AbC?t=42'), 'youtube.com/watch?v=AbC')
    assert.equal(canonicalLinkKey('m.youtube.com/watch?list=PL&v=AbC'), 'youtube.com/watch?v=AbC')
    assert.deepEqual(olderLinkKeys('youtube.com/watch?v=AbC').sort(), [
      'm.youtube.com/embed/AbC',
      'm.youtube.com/live/AbC',
      'm.youtube.com/shorts/AbC',
      'm.youtube.com/watch?v=AbC',
      'youtu.be/AbC',
      'youtube-nocookie.com/embed/AbC',
      'youtube.com/embed/AbC',
      'youtube.com/live/AbC',
      'youtube.com/shorts/AbC',
    ])
    assert.deepEqual(olderLinkKeys('twitch.tv/foo'), ['m.twitch.tv/foo'])
    assert.equal(detectPlatform('https://www.youtube-nocookie.com/embed/AbC'), 'youtube')
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
