// The JavaScript a test run executes: `npm test` compiles src/, test/ and client/ with esbuild (one
// file per source, no bundling, as scripts/build-server.mjs does for dist/) into a temporary
// directory and runs the compiled files, so no test process pays for a TypeScript loader (tsx costs each of
// the ~400 test processes about a second at start-up, minutes on a CI run).
//
// web/src/ is compiled too (tests import the pages' strings and helpers). The tree mirrors the
// repository: a compiled `x.js` beside a link to its `x.ts`, a link to every other file in the
// compiled directories, and a link to every other entry (web/dist/, bin/, node_modules/ …). A
// path a test or the server resolves from its own location (`import.meta.dirname`, `new URL(…,
// import.meta.url)`) therefore names the same file as in the sources, and a child process a test
// starts through tsx on a `.ts` file still can. Each run builds its own tree (about a second),
// so two runs side by side never share one and no run executes a file whose source is gone.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'

const COMPILED = ['src', 'test', 'client', 'web/src']

const isSource = (name) => /\.tsx?$/.test(name) && !name.endsWith('.d.ts')

/** Mirrors `dir` into the tree: links every file, and lists the TypeScript files to compile. */
function mirror(tree, dir, sources) {
  mkdirSync(join(tree, dir), { recursive: true })
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) mirror(tree, path, sources)
    else {
      if (isSource(entry.name)) sources.push(path)
      // esbuild would write a compiled file through the link to such a file, over the source tree
      else if (/\.js$/.test(path) && ['.ts', '.tsx'].some((ext) => existsSync(path.replace(/\.js$/, ext))))
        throw new Error(`${path}: a TypeScript file beside it compiles to that name`)
      symlinkSync(resolve(path), join(tree, path))
    }
  }
}

/** Places an entry of the repository in the tree: mirrored, or holding something mirrored, or linked. */
function place(tree, path, sources) {
  if (COMPILED.includes(path)) return mirror(tree, path, sources)
  if (!COMPILED.some((dir) => dir.startsWith(`${path}/`))) return symlinkSync(resolve(path), join(tree, path))
  mkdirSync(join(tree, path))
  for (const name of readdirSync(path)) place(tree, join(path, name), sources)
}

/** The compiled path of a source file in a tree: `test/x.test.ts` → `{tree}/test/x.test.js`. */
export function compiledPath(tree, file) {
  return join(tree, file.replace(/\.tsx?$/, '.js'))
}

const PREFIX = 'ovasabi-tree-'
/** The file naming the process whose tree it is (the run that removes it when it ends). */
const OWNER = '.ovasabi-test-run'
/** A tree from before owners were written: left this long, it is nobody's. */
const UNOWNED_MS = 24 * 3_600_000

/** Whether process `pid` runs (one of another user's too: only a missing one is `ESRCH`). */
function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return err.code !== 'ESRCH'
  }
}

/**
 * Removes the trees of runs that ended without removing theirs (killed with SIGKILL, a machine
 * that lost power): each names the process whose it is, and one whose process is gone goes.
 */
function sweepAbandonedTrees() {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue
    const tree = join(tmpdir(), name)
    try {
      const owner = join(tree, OWNER)
      const abandoned = existsSync(owner)
        ? !alive(Number(readFileSync(owner, 'utf8')))
        : Date.now() - statSync(tree).mtimeMs > UNOWNED_MS
      if (abandoned) rmSync(tree, { recursive: true, force: true })
    } catch {
      // Removed meanwhile by its own run, or not ours to read: left alone.
    }
  }
}

/** Builds a tree of the working directory's sources in a new temporary directory; returns its path. */
export async function buildTestTree() {
  sweepAbandonedTrees()
  const tree = mkdtempSync(join(tmpdir(), PREFIX))
  writeFileSync(join(tree, OWNER), String(process.pid))
  const sources = []
  for (const name of readdirSync('.')) if (name !== '.git') place(tree, name, sources)
  await build({
    entryPoints: sources,
    outdir: tree,
    outbase: '.',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // a failure's stack names the TypeScript file and line
    sourcemap: 'inline',
    logLevel: 'warning',
  })
  return tree
}
