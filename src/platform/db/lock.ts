import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { AppError } from '../http/errors.js'

/** PGlite allows one process per data directory; this lock makes a second one say so clearly. */
export class DataDirLockedError extends AppError {
  constructor(dir: string, pid: number) {
    super(
      409,
      'DATA_DIR_LOCKED',
      `The data directory ${dir} is in use by another Ovasabi process (pid ${pid}). ` +
        'PGlite allows one process per data directory: stop that process first, use its HTTP API, ' +
        'or point both at PostgreSQL with DATABASE_URL.',
    )
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Take the directory's lock file or throw `DataDirLockedError`. Returns the release function. */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'ovasabi.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => rmSync(file, { force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number(readFileSync(file, 'utf8').trim())
      if (pid && pid !== process.pid && isAlive(pid)) throw new DataDirLockedError(dir, pid)
      rmSync(file, { force: true }) // stale lock from a crashed process
    }
  }
  throw new Error(`Could not lock ${dir}`)
}
