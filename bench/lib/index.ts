// The reusable bench library: see bench/README.md.
export { requestJson } from './http.js'
export {
  DEFAULT_CONNECTIONS,
  DEFAULT_DURATION,
  DEFAULT_WARMUP,
  type LoadOptions,
  type LoadResult,
  runLoad,
} from './load.js'
export { BENCH_DATABASE_URL, type FreshDatabase, freshDatabase } from './postgres.js'
export { machineLoad, type ProcessStats, sampleProcess, sampleSteal } from './proc.js'
export { machineSummary, markdownTable, median } from './report.js'
export { freePort, type SpawnedServer, spawnServer } from './server.js'
