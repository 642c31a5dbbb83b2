import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { closeCodeLabel } from './metrics.js'

describe('closeCodeLabel', () => {
  it('keeps the protocol codes and counts the ones a client may choose by thousand', () => {
    assert.equal(closeCodeLabel(1000), '1000')
    assert.equal(closeCodeLabel(1006), '1006')
    assert.equal(closeCodeLabel(1013), '1013')
    const chosen = new Set(Array.from({ length: 2000 }, (_, i) => closeCodeLabel(3000 + i)))
    assert.deepEqual([...chosen].sort(), ['3xxx', '4xxx'])
    assert.equal(closeCodeLabel(2999), 'other')
    assert.equal(closeCodeLabel(Number.NaN), 'other')
  })
})
