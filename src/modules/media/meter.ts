import { createHash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'

const HEAD_BYTES = 16 * 1024
const PROGRESS_STEP = 10
const PROGRESS_MS = 250

export interface Progress {
  bytes: number
  total: number | null
  /** Percent 0–100 when the total is known. */
  progress: number | null
}

/**
 * Passes upload bytes through unchanged while counting them, hashing them (SHA-256), keeping the
 * first bytes for magic-byte sniffing, stopping at `max`, and reporting progress at least every
 * 10 % or 250 ms (whichever comes first) while bytes arrive.
 */
export class UploadMeter extends Transform {
  bytes = 0
  tooLarge = false
  private readonly hash = createHash('sha256')
  private readonly headChunks: Buffer[] = []
  private headLength = 0
  private lastPercent = 0
  private lastAt = Date.now()

  constructor(
    private readonly max: number,
    private readonly total: number | undefined,
    private readonly onProgress: (p: Progress) => void,
  ) {
    // A deeper buffer than the 16 KiB default: fewer backpressure round trips between socket and disk.
    super({ highWaterMark: 1024 * 1024 })
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length
    if (this.bytes > this.max) {
      this.tooLarge = true
      cb(new Error(`upload exceeds ${this.max} bytes`))
      return
    }
    this.hash.update(chunk)
    if (this.headLength < HEAD_BYTES) {
      this.headChunks.push(chunk)
      this.headLength += chunk.length
    }
    const percent = this.percent()
    const now = Date.now()
    if (
      (percent !== null && percent >= this.lastPercent + PROGRESS_STEP) ||
      now - this.lastAt >= PROGRESS_MS
    ) {
      this.lastPercent = percent ?? 0
      this.lastAt = now
      this.onProgress(this.snapshot())
    }
    cb(null, chunk)
  }

  override _flush(cb: TransformCallback): void {
    this.onProgress({ bytes: this.bytes, total: this.bytes, progress: 100 })
    cb()
  }

  head(): Buffer {
    return Buffer.concat(this.headChunks).subarray(0, HEAD_BYTES)
  }

  digest(): string {
    return this.hash.digest('hex')
  }

  private percent(): number | null {
    if (!this.total) return null
    return Math.min(100, Math.floor((this.bytes / this.total) * 100))
  }

  private snapshot(): Progress {
    return { bytes: this.bytes, total: this.total ?? null, progress: this.percent() }
  }
}
