#!/usr/bin/env node
// `npm test`: every test file under node's test runner, compiled to JavaScript first
// (scripts/test-tree.mjs). PostgreSQL and Redis suites run when DATABASE_URL / REDIS_URL are set;
// otherwise this says plainly what it skipped. `npm test -- test/x.test.ts …` runs only those.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { buildTestTree, compiledPath } from './test-tree.mjs'

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
for (const file of files) if (!existsSync(file)) throw new Error(`no such test file: ${file}`)
const tree = await buildTestTree()

const runner = spawn(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=900000',
    '--test-reporter=tap',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/file-times-reporter.mjs',
    '--test-reporter-destination=stdout',
    ...files.map((file) => compiledPath(tree, file)),
  ],
  // the reporter names each file by its source
  { stdio: 'inherit', env: { ...process.env, OVASABI_TEST_TREE: tree } },
)
// Stopped (Ctrl-C, a CI's timeout): the runner stops its files, then the tree goes all the same.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => runner.kill(signal))
const status = await new Promise((resolve) => runner.on('exit', (code) => resolve(code ?? 1)))
rmSync(tree, { recursive: true, force: true })
if (skipped.length > 0) console.log(`\nSkipped: ${skipped.join('; ')}`)
process.exit(status)
