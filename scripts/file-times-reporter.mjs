// A test reporter that prints, at the end of a run, the test files that took longest (each file's
// top-level tests and suites, their durations added up, the process's start-up not counted) and
// then every test that failed, with its file and the first lines of its error. `npm test` runs it
// beside the TAP reporter, so a run that grows slower says where, and a red run says what failed
// in its last lines, where a CI log cut to its tail still shows it.
const SHOWN = 25
const ERROR_LINES = 6

function errorText(error) {
  const cause = error?.cause ?? error
  const text = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)
  // the runner's own frames say nothing about the failure
  const lines = text.split('\n').filter((line) => !/\(node:(internal|async_hooks)/.test(line))
  return lines.slice(0, ERROR_LINES)
}

export default async function* fileTimes(source) {
  const files = new Map()
  const failures = []
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue
    const { nesting, file, name, details } = event.data
    // a suite that failed only because a test in it did is not listed: that test is, with its error
    if (event.type === 'test:fail' && details?.error?.failureType !== 'subtestsFailed')
      failures.push({ file, name, lines: errorText(details?.error) })
    if (nesting !== 0 || !file) continue
    files.set(file, (files.get(file) ?? 0) + (details?.duration_ms ?? 0))
  }
  const total = [...files.values()].reduce((a, b) => a + b, 0)
  const rows = [...files].sort((a, b) => b[1] - a[1]).slice(0, SHOWN)
  const cwd = `${process.cwd()}/`
  // a file of the compiled tree `npm test` runs (scripts/test-tree.mjs) is named by its source
  const tree = process.env.OVASABI_TEST_TREE ? `${process.env.OVASABI_TEST_TREE}/` : undefined
  const relative = (file) => {
    if (!file) return '(no file)'
    if (tree && file.startsWith(tree)) return file.slice(tree.length).replace(/\.js$/, '.ts')
    return file.replace(cwd, '')
  }
  yield `\n# slowest test files (of ${files.size}; ${Math.round(total / 1000)} s in all, run two at a time):\n`
  for (const [file, ms] of rows) yield `#   ${(ms / 1000).toFixed(1).padStart(6)} s  ${relative(file)}\n`
  if (failures.length === 0) return
  yield `\n# failed tests (${failures.length}):\n`
  for (const { file, name, lines } of failures) {
    yield `#   ${relative(file)}: ${name}\n`
    for (const line of lines) yield `#       ${line}\n`
  }
}
