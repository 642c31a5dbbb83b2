// The console's name for a browser from its User-Agent ("Your account"'s list of where a person is
// signed in): real headers of the common browsers, the ones that also claim to be another, and
// what is left when nothing is known.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { browserName } from '../web/src/admin/browser-name.js'

describe('browserName', () => {
  const cases: Array<[string | null, string]> = [
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      'Chrome on Windows',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
      'Edge on Windows',
    ],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
      'Safari on macOS',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
      'Chrome on iPhone',
    ],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox on Linux'],
    [
      'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
      'Samsung Internet on Android',
    ],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
      'Chrome on Linux',
    ],
    ['curl/8.5.0', 'curl'],
    ['my-integration/2.1', 'my-integration/2.1'],
    [null, 'Unknown browser'],
    ['', 'Unknown browser'],
  ]
  for (const [header, name] of cases) {
    it(`names ${JSON.stringify(header?.slice(0, 40) ?? null)} ${name}`, () => {
      assert.equal(browserName(header), name)
    })
  }
  it('keeps an unknown header short', () => {
    assert.equal(browserName('x'.repeat(300)).length, 60)
  })
})
