#!/usr/bin/env node
// Runs the compiled server (dist/, built by `npm start` through scripts/build-server.mjs) when it
// is at least as new as every source file; otherwise the TypeScript sources through tsx, so a
// checkout needs no build step and an edited source is never run stale.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function newestSource(dir) {
  let max = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    max = Math.max(max, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs)
  }
  return max
}

function distIsCurrent() {
  const stamp = join(root, 'dist/.built')
  if (!existsSync(stamp)) return false
  const builtAt = statSync(stamp).mtimeMs
  return builtAt >= newestSource(join(root, 'src')) && builtAt >= statSync(join(root, 'package.json')).mtimeMs
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
