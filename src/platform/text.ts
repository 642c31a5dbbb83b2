// Rules for text people type and others are shown (campaign titles, display names).

/**
 * The most combining marks one character may carry in a row. Real writing needs a few (a
 * Vietnamese vowel takes two, pointed Hebrew three); "Zalgo" text stacks dozens on each letter,
 * and they spill over the lines above and below it on every page and leaderboard that shows it.
 */
export const MAX_COMBINING_MARKS = 4

/**
 * A run of more marks than that. Format characters (a zero-width joiner) between the marks do not
 * break the run: they draw nothing, so they would only be a way around the bound.
 */
const RUN = `(?:\\p{M}\\p{Cf}*){${MAX_COMBINING_MARKS}}\\p{M}`

/**
 * For a schema's `pattern` (Unicode mode, as Ajv and TypeBox compile them): a lookahead, put
 * after `^`, that fails on a run of more than `MAX_COMBINING_MARKS` combining marks.
 */
export const NO_MARK_PILE = `(?![\\s\\S]*${RUN})`

const PILE = new RegExp(RUN, 'u')

/** Whether `text` stacks more than `MAX_COMBINING_MARKS` combining marks on one character. */
export function hasMarkPile(text: string): boolean {
  return PILE.test(text)
}
