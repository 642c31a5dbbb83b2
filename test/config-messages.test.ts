import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError, loadConfig } from '../src/config.js'

/** The problems `loadConfig` lists for `env`, one line each. */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ DATA_DIR: '/tmp/ovasabi-config-messages', ...env })
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err))
    return err.message
      .split('\n')
      .slice(1)
      .map((line) => line.replace(/^\s*- /, ''))
  }
  assert.fail('the configuration was accepted')
}

describe('configuration errors read as sentences', () => {
  it('names each bad value and what it must be, once "must" each', () => {
    const lines = problems({
      PORT: 'abc',
      DATABASE_URL: 'mysql://db',
      REDIS_URL: 'http://cache',
      LOG_LEVEL: 'loud',
    })
    assert.deepEqual(lines, [
      'PORT="abc": must be integer',
      'DATABASE_URL="mysql://db": must match pattern "^postgres(ql)?://"',
      'REDIS_URL="http://cache": must match pattern "^rediss?://"',
      'LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent',
    ])
    for (const line of lines) assert.doesNotMatch(line, /must be must/)
  })
})
