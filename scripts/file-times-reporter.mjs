// A test reporter that prints, at the end of a run, the test files that took longest: each file's
// top-level tests and suites, their durations added up (the process's start-up not counted).
// `npm test` runs it beside the TAP reporter, so a run that grows slower says where.
const SHOWN = 25

export default async function* fileTimes(source) {
  const files = new Map()
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue
    const { nesting, file, details } = event.data
    if (nesting !== 0 || !file) continue
    files.set(file, (files.get(file) ?? 0) + (details?.duration_ms ?? 0))
  }
  const total = [...files.values()].reduce((a, b) => a + b, 0)
  const rows = [...files].sort((a, b) => b[1] - a[1]).slice(0, SHOWN)
  const cwd = `${process.cwd()}/`
  yield `\n# slowest test files (of ${files.size}; ${Math.round(total / 1000)} s in all, run two at a time):\n`
  for (const [file, ms] of rows)
    yield `#   ${(ms / 1000).toFixed(1).padStart(6)} s  ${file.replace(cwd, '')}\n`
}
