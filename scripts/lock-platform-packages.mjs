#!/usr/bin/env node
// The npm registry mirror this project is built against lacks Biome's non-Linux CLI packages, so
// `npm install` leaves them out of package-lock.json and `npm ci` then refuses the lock as out of
// sync. This records them as the optional, platform-specific entries they are (npm never fetches
// them on Linux). Run after `npm install` changes the lock.
import { readFileSync, writeFileSync } from 'node:fs'

const file = new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(readFileSync(file, 'utf8'))
const packages = lock.packages
const biome = packages['node_modules/@biomejs/biome']
if (biome) {
  for (const [name, version] of Object.entries(biome.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`
    if (packages[key]) continue
    const [, os, cpu, libc] = name.match(/cli-(\w+)-(x64|arm64)(?:-(musl))?$/) ?? []
    if (!os) continue
    packages[key] = {
      version,
      cpu: [cpu],
      dev: true,
      license: biome.license,
      optional: true,
      os: [os],
      ...(libc ? { libc: [libc] } : {}),
      engines: biome.engines,
    }
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`)
