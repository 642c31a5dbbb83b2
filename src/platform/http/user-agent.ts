/** The longest User-Agent kept: enough to name a browser and system, not a place to store a body. */
export const USER_AGENT_MAX = 300

/**
 * The User-Agent header as kept (where a person signed in, a socket's, until its join is stored):
 * cut to `USER_AGENT_MAX`; `undefined` when absent or empty.
 */
export const keptUserAgent = (header: string | undefined): string | undefined =>
  header ? header.slice(0, USER_AGENT_MAX) : undefined
