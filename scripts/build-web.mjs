#!/usr/bin/env node
// `npm start` runs this first: builds the web site when web/dist is missing or older than any
// source it is built from, so a fresh checkout serves pages without a manual build step.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { newestMtime } from './newest-mtime.mjs'

const SOURCES = ['web/src', 'web/public', 'web/index.html', 'web/admin.html', 'web/vite.config.ts', 'client']
const OUTPUT = 'web/dist/index.html'

const newest = (path) => newestMtime(path, (name) => name === 'node_modules' || name.endsWith('.test.ts'))

const builtAt = () => (existsSync(OUTPUT) ? statSync(OUTPUT).mtimeMs : 0)
const fresh = () => builtAt() > 0 && builtAt() >= Math.max(...SOURCES.map(newest))
if (fresh()) process.exit(0)

// Several test files (or `npm start` beside a test run) may get here at once: one builds, the
// others wait for it and then find the build fresh. `mkdir` is the atomic lock.
const LOCK = 'web/.build-lock'
const deadline = Date.now() + 180_000
for (;;) {
  try {
    mkdirSync(LOCK)
    break
  } catch {
    if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 180_000)
      rmSync(LOCK, { recursive: true, force: true })
    if (Date.now() > deadline) {
      console.error(`waited too long for ${LOCK}; remove it if no build is running`)
      process.exit(1)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}
const release = () => rmSync(LOCK, { recursive: true, force: true })
if (fresh()) {
  release()
  process.exit(0)
}
const built = builtAt()

// vite's package exports hide its bin, so find the package and take the bin path from it.
let vite
try {
  const pkg = createRequire(import.meta.url).resolve('vite/package.json')
  vite = join(dirname(pkg), 'bin', 'vite.js')
  if (!existsSync(vite)) throw new Error('no vite bin')
} catch {
  console.warn(
    built
      ? 'web/dist is older than its sources, but vite is not installed (production install?): serving the existing build.'
      : 'web/dist is missing and vite is not installed: install dev dependencies and run `npm run build`.',
  )
  release()
  process.exit(0)
}
console.log(built ? 'web/dist is stale: rebuilding the site…' : 'web/dist is missing: building the site…')
const r = spawnSync(
  process.execPath,
  [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'],
  {
    stdio: 'inherit',
  },
)
release()
process.exit(r.status ?? 1)
