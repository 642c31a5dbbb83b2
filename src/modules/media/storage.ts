import type { Readable, Writable } from 'node:stream'

/** An object being written: pipe bytes into `stream`, then `commit()`; `abort()` leaves nothing behind. */
export interface StorageWrite {
  stream: Writable
  commit(): Promise<void>
  abort(): Promise<void>
}

export interface ByteRange {
  start: number
  /** Inclusive. */
  end: number
}

/**
 * Where media bytes live. Keys are made by the server (`{campaign}/{media_id}/original`), never
 * from a client's file name. Two adapters: disk (`MEDIA_DIR`) and S3-compatible (`S3_*`).
 */
export interface StorageAdapter {
  readonly kind: 'disk' | 's3'
  open(key: string, contentType: string): Promise<StorageWrite>
  read(key: string, range?: ByteRange): Promise<Readable>
  /** Size in bytes, or undefined when the object does not exist; rejects when the storage fails. */
  size(key: string): Promise<number | undefined>
  remove(key: string): Promise<void>
  /**
   * A short-lived URL the client can fetch directly with `method` (S3 presigned GET or HEAD with
   * the response headers set); undefined when the server serves the bytes itself (disk).
   */
  directUrl?(
    key: string,
    opts: { contentType: string; disposition: string; method: 'GET' | 'HEAD' },
  ): Promise<string>
  /**
   * The temporary files of writes never committed nor aborted (a crash), last written before
   * `before`, with the key each was for. Disk only: an S3 bucket drops unfinished multipart
   * uploads by its own lifecycle rule.
   */
  stalePartials?(before: Date): Promise<PartialWrite[]>
}

/** A temporary file a write left behind. */
export interface PartialWrite {
  key: string
  remove(): Promise<void>
}
