import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError, loadConfig } from '../src/config.js'

/**
 * The live-stream URL templates. A playback template naming `{key}` put the stream key in every
 * `stream_event` to the campaign's sockets and in the registry's public link: any viewer could
 * publish to the stream. One without `{stream_id}` gave every stream the same registry link, whose
 * uniqueness answered every `stream.start` after the first with a 500. An ingest template without
 * `{key}` gave every stream the same, unguarded, ingest URL.
 */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ DATA_DIR: '/tmp/ovasabi-config-qa29', ...env })
    return []
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err))
    return err.message.split('\n').slice(1)
  }
}

describe('configuration: live-stream URL templates', () => {
  it('refuses a playback URL naming the stream key', () => {
    const lines = problems({ STREAM_PLAYBACK_URL_TEMPLATE: 'https://cdn.example/hls/{stream_id}-{key}.m3u8' })
    assert.equal(lines.length, 1, lines.join('\n'))
    assert.match(lines[0]!, /STREAM_PLAYBACK_URL_TEMPLATE.*\{key\}/)
  })

  it('refuses a playback URL the same for every stream', () => {
    const lines = problems({ STREAM_PLAYBACK_URL_TEMPLATE: 'https://cdn.example/{campaign}/live.m3u8' })
    assert.equal(lines.length, 1, lines.join('\n'))
    assert.match(lines[0]!, /STREAM_PLAYBACK_URL_TEMPLATE.*\{stream_id\}/)
  })

  it('refuses an ingest URL without the stream key', () => {
    const lines = problems({ STREAM_INGEST_URL_TEMPLATE: 'rtmp://ingest.example/live/{stream_id}' })
    assert.equal(lines.length, 1, lines.join('\n'))
    assert.match(lines[0]!, /STREAM_INGEST_URL_TEMPLATE.*\{key\}/)
  })

  it('takes the defaults and templates that name each stream apart', () => {
    assert.deepEqual(problems({}), [])
    assert.deepEqual(
      problems({
        STREAM_INGEST_URL_TEMPLATE: 'srt://ingest.example:9000?streamid=publish:{key}',
        STREAM_PLAYBACK_URL_TEMPLATE: 'https://cdn.example/{campaign}/{stream_id}/index.m3u8',
      }),
      [],
    )
  })
})
