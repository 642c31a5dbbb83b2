import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, resolve, sep } from 'node:path'
import { ulid } from 'ulid'
import type { StorageAdapter } from './storage.js'

/**
 * Media on the local disk under `root`. Writes go to a `.part` file renamed on commit, so a
 * reader never sees half an upload and an abort removes everything written.
 */
export function createDiskStorage(root: string): StorageAdapter {
  const base = resolve(root)

  // Keys are server-made; this is a second fence in case one ever is not.
  function pathOf(key: string): string {
    const full = resolve(base, key)
    if (!full.startsWith(base + sep)) throw new Error(`storage key escapes the media directory: ${key}`)
    return full
  }

  return {
    kind: 'disk',
    async open(key) {
      const final = pathOf(key)
      const temp = `${final}.${ulid()}.part`
      await mkdir(dirname(final), { recursive: true })
      const stream = createWriteStream(temp, { flags: 'wx', highWaterMark: 1024 * 1024 })
      return {
        stream,
        commit: () => rename(temp, final),
        async abort() {
          stream.destroy()
          await rm(temp, { force: true })
        },
      }
    },
    async read(key, range) {
      return createReadStream(pathOf(key), range ? { start: range.start, end: range.end } : {})
    },
    async size(key) {
      try {
        return (await stat(pathOf(key))).size
      } catch {
        return undefined
      }
    },
    async remove(key) {
      await rm(pathOf(key), { force: true })
    },
  }
}
