/**
 * Resolves once everything written to stdout and stderr so far is handed to the OS. The CLI's
 * caller (`bin/ovasabi.js`) exits as soon as a command returns, and writes to a pipe are
 * asynchronous: without this, `ovasabi apikey list | gzip` (or `kg export | gzip`) kept the first
 * 64 KiB and exited 0.
 */
export async function flushOutput(): Promise<void> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)])
}

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      stream.off('error', done)
      resolve()
    }
    stream.on('error', done)
    stream.write('', done)
  })
}

/**
 * A reader that stops early (`ovasabi campaign list | head`) closes the pipe, and the next write
 * fails with EPIPE: that is no error of the command's, which finishes quietly (nothing more can
 * be printed) instead of dying with a stack trace, as other command-line tools do. Installed once.
 */
export function ignoreClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listeners('error').includes(onOutputError)) continue
    stream.on('error', onOutputError)
  }
}

function onOutputError(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err
}
