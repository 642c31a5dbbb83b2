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

/**
 * What draws nothing, as the inside of a regular-expression character class (Unicode mode):
 * white space; format characters (a zero-width space, a direction mark); Unicode's
 * default-ignorable set (`\p{DI}`: variation selectors, the combining grapheme joiner, and the
 * code points reserved to be ignored, which no font draws); combining marks, which have nothing to
 * sit on when nothing else is there; and the letters that draw nothing (the Hangul fillers and the
 * blank Braille pattern). Text made only of these shows as a blank: a leaderboard entry, a chat
 * line, a file name or a title that is there but says nothing.
 */
export const DRAWS_NOTHING = '\\s\\p{Cf}\\p{DI}\\p{M}\\u115F\\u1160\\u3164\\uFFA0\\u2800'

/** For a schema's `pattern`: a lookahead, put after `^`, that requires something visible. */
export const SHOWS_SOMETHING = `(?=[\\s\\S]*[^${DRAWS_NOTHING}])`

const BLANK = new RegExp(`^[${DRAWS_NOTHING}]*$`, 'u')

/** Whether `text` shows nothing (see `DRAWS_NOTHING`); the empty string is blank. */
export function isBlank(text: string): boolean {
  return BLANK.test(text)
}
