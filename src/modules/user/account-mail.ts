import type { Mailer } from '../../platform/mail.js'
import { type ReaderTranslator, readerWords } from '../localization/reader-words.js'
import { withAsciiDomain } from './email.js'

/**
 * The sentences of a mail about a person's account, in English, each an ICU message with `{name}`
 * arguments: what happened, what to do, and what to do if it was not them.
 */
export interface AccountMailWords {
  subject: string
  intro: string
  action: string
  ignore: string
  [key: string]: string
}

/** How a module mails in the reader's language (its deps carry both). */
export interface AccountMailTranslation {
  /** Mails in the person's locale (see `readerWords`); English without it. */
  translate?: ReaderTranslator
  /** A mail sent in English because its words could not be translated. */
  onUntranslated?: (err: unknown) => void
}

/** One mail: to whom, in which locale, the catalog keys of its words, and what fills them in. */
export interface AccountMail {
  to: string
  locale: string | null
  /** The words are keyed `{prefix}.{key}` in a campaign's catalog (`mail.reset.subject`, …). */
  prefix: string
  values: Record<string, string | number>
  /** A link the mail exists to carry (a reset, a confirmation), on its own line after `action`. */
  link?: string
  /** Whose catalog is read first: the campaign the mail is about, when there is one. */
  campaign?: string
}

/**
 * Sends a mail about a person's account in their language: the address's domain in the form every
 * mail server routes (IDNA's ASCII), the words translated as a whole or sent in English.
 */
export async function sendAccountMail(
  mailer: Mailer,
  english: AccountMailWords,
  mail: AccountMail,
  translation: AccountMailTranslation,
): Promise<void> {
  const words = await readerWords(
    english,
    mail.values,
    { locale: mail.locale, translate: translation.translate, prefix: mail.prefix, campaign: mail.campaign },
    translation.onUntranslated,
  )
  const body = mail.link
    ? [words.intro, '', words.action, mail.link, '', words.ignore]
    : [words.intro, '', words.action, words.ignore]
  await mailer.send({ to: withAsciiDomain(mail.to), subject: words.subject, text: body.join('\n') })
}
