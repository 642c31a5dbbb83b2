import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as ws from 'ws'
import { broadcast } from './wire.js'

// ws's own framer (exported at runtime, not in its types): our bytes must be exactly its bytes.
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] }
}

describe('broadcast framing', () => {
  for (const size of [0, 1, 125, 126, 127, 65_535, 65_536, 200_000]) {
    it(`frames ${size} bytes exactly as ws does`, () => {
      const payload = Buffer.alloc(size, 'x')
      const expected = Buffer.concat(
        Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false }),
      )
      const b = broadcast(payload)
      assert.equal(b.payload, payload)
      assert.ok(b.wire.equals(expected), `header ${b.wire.subarray(0, 10).toString('hex')}`)
    })
  }
})
