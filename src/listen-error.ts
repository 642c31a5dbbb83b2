// Apart from server.ts, which loads the whole app: the CLI names this error without loading it.

/** The server could not take its address: nothing was served, and everything opened is closed again. */
export class ListenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ListenError'
  }
}
