#!/usr/bin/env node
// `npm start` runs this first: compiles src/ to dist/ (esbuild, one file per source, no bundling)
// when dist is missing or older than any source, so the server runs plain JavaScript in
// production. bin/ovasabi.js runs dist only while it is current and otherwise falls back to the
// TypeScript sources through tsx, so an edit is never served stale.
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { newestMtime } from './newest-mtime.mjs'

const SOURCE = 'src'
const OUT = 'dist'
const STAMP = join(OUT, '.built')

function sources(dir) {
  const files = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) files.push(...sources(path))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) files.push(path)
  }
  return files
}

// The same rule bin/ovasabi.js applies before it runs dist/.
const newest = Math.max(newestMtime(SOURCE), newestMtime('package.json'))
if (existsSync(STAMP) && statSync(STAMP).mtimeMs >= newest) process.exit(0)

const files = sources(SOURCE)

rmSync(OUT, { recursive: true, force: true })
await build({
  entryPoints: files,
  outdir: OUT,
  outbase: SOURCE,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
})
writeFileSync(STAMP, `${new Date().toISOString()}\n`)
console.log(`built ${files.length} server files into ${OUT}/`)
