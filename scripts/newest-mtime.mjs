// The newest modification time under a path (a file, or a directory walked recursively), for
// "is this build output current?" checks. `skip(name)` leaves out entries by name. Shared by the
// web and server builds and by bin/ovasabi.js, so the build and the runner judge freshness alike.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

export function newestMtime(path, skip = () => false) {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let max = 0
  for (const name of readdirSync(path)) {
    if (!skip(name)) max = Math.max(max, newestMtime(join(path, name), skip))
  }
  return max
}
