import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { ulid } from 'ulid'
import type { PartialWrite, StorageAdapter } from './storage.js'

/**
 * Where writes in progress live, beside the campaigns' directories (a slug never starts with a
 * dot): on the same file system, so a commit is one rename, and in one directory, so what a crash
 * left behind is found without walking every media's directory.
 */
export const PARTIAL_DIR = '.partial'
/** `{key, URI-encoded}.{ULID}.part`: the key a temporary file was for is read back from its name. */
const PARTIAL_NAME = /^(.+)\.[0-9A-HJKMNP-TV-Z]{26}\.part$/

function decodeKey(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded)
  } catch {
    return undefined
  }
}

/**
 * Media on the local disk under `root`. Writes go to a `.part` file renamed on commit, so a
 * reader never sees half an upload and an abort removes everything written.
 */
export function createDiskStorage(root: string): StorageAdapter {
  const base = resolve(root)
  const partials = join(base, PARTIAL_DIR)

  // Keys are server-made; this is a second fence in case one ever is not.
  function pathOf(key: string): string {
    const full = resolve(base, key)
    if (!full.startsWith(base + sep) || full.startsWith(partials + sep)) {
      throw new Error(`storage key escapes the media directory: ${key}`)
    }
    return full
  }

  return {
    kind: 'disk',
    async open(key) {
      const final = pathOf(key)
      const temp = join(partials, `${encodeURIComponent(key)}.${ulid()}.part`)
      await mkdir(dirname(final), { recursive: true })
      await mkdir(partials, { recursive: true })
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
      } catch (err) {
        // Not there is not there; any other failure (EIO, a symlink loop, a mount gone) is the
        // storage's, and must not read as a media deleted.
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
        throw err
      }
    },
    async remove(key) {
      await rm(pathOf(key), { force: true })
    },
    async stalePartials(before) {
      let names: string[]
      try {
        names = await readdir(partials)
      } catch {
        return []
      }
      const found: PartialWrite[] = []
      for (const name of names) {
        const m = PARTIAL_NAME.exec(name)
        if (!m) continue
        const path = join(partials, name)
        // Gone meanwhile (committed or aborted): nothing to do.
        const written = await stat(path).then(
          (s) => s.mtimeMs,
          () => undefined,
        )
        if (written === undefined || written >= before.getTime()) continue
        const key = decodeKey(m[1]!)
        if (key !== undefined) found.push({ key, remove: () => rm(path, { force: true }) })
      }
      return found
    },
  }
}
