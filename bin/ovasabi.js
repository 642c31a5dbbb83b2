#!/usr/bin/env node
// Runs the compiled server (dist/, built by `npm start` through scripts/build-server.mjs) when it
// is at least as new as every source file; otherwise the TypeScript sources through tsx, so a
// checkout needs no build step and an edited source is never run stale.
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { newestMtime } from '../scripts/newest-mtime.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

function distIsCurrent() {
  const stamp = join(root, 'dist/.built')
  if (!existsSync(stamp)) return false
  const builtAt = statSync(stamp).mtimeMs
  return builtAt >= Math.max(newestMtime(join(root, 'src')), newestMtime(join(root, 'package.json')))
}

let main
if (distIsCurrent()) {
  ;({ main } = await import('../dist/cli.js'))
} else {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ main } = await import('../src/cli.ts'))
}
const code = await main(process.argv.slice(2))
if (code >= 0) process.exit(code)
