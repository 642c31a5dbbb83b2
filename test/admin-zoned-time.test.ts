import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { instantOf, knownZone, wallClockOf } from '../web/src/admin/zoned-time.js'

describe('admin console: wall-clock times in a campaign’s time zone', () => {
  it('reads a wall-clock time in the zone, either side of a daylight-saving change', () => {
    assert.equal(instantOf('2027-01-14T09:00', 'America/New_York'), '2027-01-14T14:00:00.000Z')
    assert.equal(instantOf('2027-03-14T09:00', 'America/New_York'), '2027-03-14T13:00:00.000Z')
    assert.equal(instantOf('2027-06-01T12:00', 'Asia/Kolkata'), '2027-06-01T06:30:00.000Z')
    assert.equal(instantOf('2027-06-01T12:00', 'UTC'), '2027-06-01T12:00:00.000Z')
    assert.equal(instantOf('', 'UTC'), undefined)
  })

  it('takes a skipped time as the same minutes after the gap, a repeated one as the first', () => {
    // 02:30 does not happen in New York on 14 March 2027: clocks go from 02:00 EST to 03:00 EDT.
    assert.equal(instantOf('2027-03-14T02:30', 'America/New_York'), '2027-03-14T07:30:00.000Z')
    // 01:30 happens twice on 7 November 2027: first in EDT (05:30 UTC), then in EST (06:30 UTC).
    assert.equal(instantOf('2027-11-07T01:30', 'America/New_York'), '2027-11-07T05:30:00.000Z')
    assert.equal(instantOf('2027-10-31T02:30', 'Europe/Berlin'), '2027-10-31T00:30:00.000Z')
  })

  it('shows an instant as the zone’s wall-clock time, and round-trips it', () => {
    assert.equal(wallClockOf('2027-03-14T13:00:00.000Z', 'America/New_York'), '2027-03-14T09:00')
    assert.equal(wallClockOf('2027-06-01T06:30:00.000Z', 'Asia/Kolkata'), '2027-06-01T12:00')
    assert.equal(wallClockOf(undefined, 'UTC'), '')
    for (const zone of ['Europe/Berlin', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Sao_Paulo']) {
      for (let t = Date.UTC(2027, 0, 1); t < Date.UTC(2028, 0, 1); t += 7 * 3_600_000 + 60_000) {
        const local = wallClockOf(new Date(t).toISOString(), zone)
        const back = instantOf(local, zone)!
        assert.equal(wallClockOf(back, zone), local, `${zone} ${local}`)
      }
    }
  })

  it('knows IANA zones and nothing else', () => {
    assert.equal(knownZone('Europe/Berlin'), 'Europe/Berlin')
    assert.equal(knownZone('Berlin'), undefined)
    assert.equal(knownZone(''), undefined)
  })
})
