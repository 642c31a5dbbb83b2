import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { ConfigError, loadConfig } from './config.js'

describe('loadConfig', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'ovasabi-config-'))

  it('applies the embedded defaults', () => {
    const config = loadConfig({ DATA_DIR: dir() })
    assert.equal(config.PORT, 8090)
    assert.equal(config.DATABASE_URL, undefined)
    assert.equal(config.BODY_LIMIT, 1024 * 1024)
    assert.ok(Object.isFrozen(config))
  })

  it('generates a JWT secret once and keeps it in DATA_DIR', () => {
    const d = dir()
    const first = loadConfig({ DATA_DIR: d })
    const second = loadConfig({ DATA_DIR: d })
    assert.ok(first.JWT_SECRET.length >= 32)
    assert.equal(first.JWT_SECRET, second.JWT_SECRET)
    assert.equal(readFileSync(join(d, 'jwt-secret'), 'utf8'), first.JWT_SECRET)
    assert.notEqual(loadConfig({ DATA_DIR: dir() }).JWT_SECRET, first.JWT_SECRET)
  })

  it('refuses a session lifetime past ten years', () => {
    assert.throws(
      () => loadConfig({ DATA_DIR: dir(), SESSION_TTL_SECONDS: String(10 * 365 * 86400 + 1) }),
      ConfigError,
    )
    assert.equal(
      loadConfig({ DATA_DIR: dir(), SESSION_TTL_SECONDS: String(10 * 365 * 86400) }).SESSION_TTL_SECONDS,
      10 * 365 * 86400,
    )
  })

  it('lists every bad value in one error', () => {
    assert.throws(
      () =>
        loadConfig({
          DATA_DIR: dir(),
          PORT: 'eighty',
          LOG_LEVEL: 'loud',
          DATABASE_URL: 'mysql://x',
          JWT_SECRET: 'short',
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.equal(err.problems.length, 4)
        assert.match(err.message, /PORT="eighty"/)
        assert.match(err.message, /LOG_LEVEL="loud": must be one of fatal, error/)
        assert.match(err.message, /DATABASE_URL/)
        assert.match(err.message, /JWT_SECRET/)
        return true
      },
    )
  })

  it('parses numbers and lists', () => {
    const config = loadConfig({
      DATA_DIR: dir(),
      PORT: '9000',
      CORS_ORIGINS: 'https://a.example, https://b.example',
    })
    assert.equal(config.PORT, 9000)
    assert.deepEqual(config.CORS_ORIGINS, ['https://a.example', 'https://b.example'])
  })

  it('bounds how long a client may take to send headers, and a body may go without a byte', () => {
    const defaults = loadConfig({ DATA_DIR: dir() })
    assert.equal(defaults.HTTP_HEADERS_TIMEOUT_SECONDS, 30)
    assert.equal(defaults.HTTP_BODY_IDLE_TIMEOUT_SECONDS, 60)
    const set = loadConfig({
      DATA_DIR: dir(),
      HTTP_HEADERS_TIMEOUT_SECONDS: '5',
      HTTP_BODY_IDLE_TIMEOUT_SECONDS: '120',
    })
    assert.equal(set.HTTP_HEADERS_TIMEOUT_SECONDS, 5)
    assert.equal(set.HTTP_BODY_IDLE_TIMEOUT_SECONDS, 120)
    // Never off: 0 would let a client hold a connection for ever.
    assert.throws(
      () =>
        loadConfig({
          DATA_DIR: dir(),
          HTTP_HEADERS_TIMEOUT_SECONDS: '0',
          HTTP_BODY_IDLE_TIMEOUT_SECONDS: '1.5',
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.match(err.message, /HTTP_HEADERS_TIMEOUT_SECONDS="0"/)
        assert.match(err.message, /HTTP_BODY_IDLE_TIMEOUT_SECONDS="1.5"/)
        return true
      },
    )
  })
})

describe('the generated JWT secret', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'ovasabi-config-'))

  it('refuses a secret file too short to sign with, naming the file and the way out', () => {
    for (const content of ['', '\n', 'short-secret']) {
      const d = dir()
      writeFileSync(join(d, 'jwt-secret'), content)
      assert.throws(
        () => loadConfig({ DATA_DIR: d }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err))
          assert.match(err.message, /jwt-secret holds \d+ characters; a JWT secret needs 32 or more/)
          assert.match(err.message, /set JWT_SECRET/)
          return true
        },
      )
    }
  })
})

describe('OVASABI_ADMIN_KEY', () => {
  it('refuses a key shaped like a signed token, which every request would read as a token', () => {
    const d = mkdtempSync(join(tmpdir(), 'ovasabi-config-'))
    assert.throws(
      () => loadConfig({ DATA_DIR: d, OVASABI_ADMIN_KEY: 'ops-admin.key-for-ci.pipeline2026' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.match(err.message, /OVASABI_ADMIN_KEY: must not be three dot-separated parts/)
        return true
      },
    )
    const ok = loadConfig({ DATA_DIR: d, OVASABI_ADMIN_KEY: 'ops-admin-key-for-ci-pipeline-2026' })
    assert.equal(ok.OVASABI_ADMIN_KEY, 'ops-admin-key-for-ci-pipeline-2026')
  })
})

describe('STREAM_INGEST_AUTH_SECRET', () => {
  it('is off unless set, and refuses a secret too short to stand against guesses', () => {
    const d = mkdtempSync(join(tmpdir(), 'ovasabi-config-'))
    const off = loadConfig({ DATA_DIR: d })
    assert.equal(off.STREAM_INGEST_AUTH_SECRET, undefined)
    assert.equal(off.STREAM_INGEST_AUTH_FAILURES_PER_MINUTE, 20)
    assert.throws(
      () => loadConfig({ DATA_DIR: d, STREAM_INGEST_AUTH_SECRET: 'short' }),
      (err: unknown) => err instanceof ConfigError && /STREAM_INGEST_AUTH_SECRET/.test(err.message),
    )
    const on = loadConfig({ DATA_DIR: d, STREAM_INGEST_AUTH_SECRET: 'a-media-server-secret-of-24+' })
    assert.equal(on.STREAM_INGEST_AUTH_SECRET, 'a-media-server-secret-of-24+')
  })
})
