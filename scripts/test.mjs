#!/usr/bin/env node
// `npm test`: every test file under node's test runner (through tsx). PostgreSQL and Redis
// suites run when DATABASE_URL / REDIS_URL are set; otherwise this says plainly what it skipped.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function find(dir, out = []) {
  if (!existsSync(dir)) return out
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) find(path, out)
    else if (/\.test\.ts$/.test(name)) out.push(path)
  }
  return out
}

const only = process.argv.slice(2)
const files = only.length > 0 ? only : [...find('src'), ...find('test'), ...find('client')].sort()
const skipped = []
if (!process.env.DATABASE_URL) skipped.push('PostgreSQL suites (set DATABASE_URL=postgres://… to run them)')
if (!process.env.REDIS_URL) skipped.push('Redis suites (set REDIS_URL=redis://… to run them)')
for (const s of skipped) console.log(`SKIPPING: ${s}`)

const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=900000',
    '--test-reporter=tap',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/file-times-reporter.mjs',
    '--test-reporter-destination=stdout',
    ...files,
  ],
  { stdio: 'inherit', env: process.env },
)
if (skipped.length > 0) console.log(`\nSkipped: ${skipped.join('; ')}`)
process.exit(result.status ?? 1)
