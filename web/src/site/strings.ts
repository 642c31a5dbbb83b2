/** Every page string, in English. Keys double as the translation `context.key`. */
export const STRINGS = {
  'nav.quote': 'Get a quote',
  'nav.join': 'Join',
  'nav.live': 'Live',
  'live.here': 'here now',
  'live.connecting': 'connecting',
  'live.offline': 'offline',
  'hero.eyebrow': 'Real-time campaign platform',
  'hero.title': 'Launch pages that feel alive.',
  'hero.lead':
    'See who is on your page right now, capture leads, reward referrals and go live, from one self-hosted backend.',
  'hero.cta.join': 'Join the launch',
  'hero.cta.quote': 'Request a quote',
  'hero.hint': 'Move your mouse: everyone here sees it.',
  'features.title': 'Everything a campaign needs, live',
  'features.presence.title': 'Live presence',
  'features.presence.body': 'Visitor counts and cursors pushed to every browser at your broadcast rate.',
  'features.leads.title': 'Leads that move',
  'features.leads.body':
    'Quotes land in your console and your CRM, and the visitor sees their status change.',
  'features.referrals.title': 'Referrals with milestones',
  'features.referrals.body': 'Personal links, fair counting, and milestone moments everyone sees.',
  'join.title': 'Join the launch',
  'join.lead': 'Get your personal referral link and climb the leaderboard.',
  'join.name': 'Your name',
  'join.email': 'Email',
  'join.code': 'Referral code (optional)',
  'join.consent': 'I agree to receive launch updates.',
  'join.submit': 'Join now',
  'join.preview': 'How others will see you',
  'join.welcome': 'You are in',
  'join.error.name.required': 'Please enter your name.',
  'join.error.name.invalid': 'Please enter a name others can read (up to 100 characters).',
  'join.error.email.required': 'Please enter your email address.',
  'join.error.email.invalid': 'Please enter a valid email address, like ada@example.org.',
  'join.error.code.invalid': 'This referral code is not valid.',
  'join.referral.notApplied': 'You joined, but the referral code was not applied:',
  'join.referral.unknown': 'no such code exists in this campaign.',
  'join.referral.own': 'you cannot use your own code.',
  'join.referral.already': 'you were already referred in this campaign.',
  'join.referral.disposable': 'referrals from disposable email addresses do not count.',
  'join.referral.rejected': 'it did not pass our referral checks.',
  'join.referral.other': 'it could not be used right now.',
  'referral.title': 'Your referral link',
  'referral.copy': 'Copy link',
  'referral.copied': 'Copied',
  'quote.title': 'Request a quote',
  'quote.lead': 'Tell us about your campaign. We usually answer within a day.',
  'quote.name': 'Name',
  'quote.email': 'Work email',
  'quote.company': 'Company',
  'quote.budget': 'Budget',
  'quote.message': 'What are you launching?',
  'quote.submit': 'Send request',
  'quote.error.name.invalid': 'Please enter a name on one line (up to 200 characters).',
  'quote.error.company.invalid': 'Please enter the company name on one line (up to 200 characters).',
  'quote.error.budget.invalid': 'Please choose a budget from the list.',
  'quote.error.message.invalid': 'Please keep your message under 5,000 characters, as plain text.',
  'quote.status': 'Your request',
  'quote.status.new': 'Received: being processed',
  'quote.status.contacted': 'We have contacted you',
  'quote.status.qualified': 'Qualified: a proposal is on its way',
  'quote.status.won': 'Accepted: welcome aboard',
  'quote.status.lost': 'Closed',
  'feed.title': 'Live milestones',
  'feed.empty': 'Milestones appear here the moment they happen.',
  // Counted sentences: one string per plural category (`.one`, `.other`), picked by the shown
  // language's `Intl.PluralRules`; a category the page has no string for reads `.other`.
  'feed.milestone.one': '{name} now has {count} referral',
  'feed.milestone.other': '{name} now has {count} referrals',
  'feed.milestone.more': '{name} now has more referrals',
  'feed.someone': 'Someone',
  'feed.gap': 'The connection fell behind: some milestones may be missing here.',
  'board.title': 'Top referrers',
  'board.waiting': 'Loading the leaderboard…',
  'board.empty': 'No referrals yet: share your link and lead the board.',
  'media.title': 'Share a picture',
  'media.lead': 'Upload an image for the campaign wall.',
  'media.choose': 'Choose a file',
  'media.upload': 'Upload',
  'media.uploading': 'Uploading',
  'media.processing': 'Processing',
  'media.ready': 'Uploaded',
  'media.failed': 'Upload failed.',
  'media.reason.type_mismatch':
    'The file is not what its type says (for example, a PNG named .jpg, or not a picture at all).',
  'media.reason.quota_exceeded': 'The campaign has no room for more uploads right now.',
  'media.reason.too_slow':
    'The upload was too slow and was stopped. Please try again on a better connection.',
  'media.reason.idle_timeout': 'The upload stalled and was stopped. Please try again.',
  'media.reason.interrupted': 'The upload was interrupted. Please try again.',
  'media.reason.invalid_image': 'The image could not be read. Please choose another picture.',
  'media.reason.expired': 'The upload link expired before the file arrived. Please try again.',
  'stream.title': 'Live stream',
  'stream.offline': 'Nobody is live right now.',
  'stream.viewers': 'watching',
  'stream.start': 'Go live',
  unavailable: 'Not available on this campaign yet.',
  'campaign.missing': 'This campaign does not exist.',
  'lang.unavailable': 'Translation unavailable',
  'lang.partial': 'Partly translated',
  'footer.note': 'Built on Ovasabi: self-hosted, real-time, open.',
  'stream.yours': 'Your stream',
  'stream.ready': 'Your stream is set up. Go live when you are ready.',
  'stream.goLive': 'Go live now',
  'stream.resume': 'Resume',
  'stream.pause': 'Pause',
  'stream.stop': 'End stream',
  'page.skip': 'Skip to content',
  'page.nav': 'Primary',
  'page.home': '{title} home',
  'lang.label': 'Language',
  'media.progress': 'Upload progress',
  // `{placeholders}` are filled in on the page; the translation service keeps them as they are.
  'campaign.notice': 'This campaign is {status}.',
  'campaign.opens': 'This campaign opens {time}: its forms open then.',
  'campaign.opens.unknown': 'This campaign has not started yet: its forms open when it starts.',
  // Status words, each translated on its own (filled into `{status}`), never spliced in English.
  'campaign.status.ended': 'ended',
  'campaign.status.archived': 'archived',
  'campaign.status.draft': 'unpublished',
  'campaign.status.closed': 'closed',
  'form.error.rateLimited.one': 'Too many attempts. Please try again in {seconds} second.',
  'form.error.rateLimited.other': 'Too many attempts. Please try again in {seconds} seconds.',
  'form.error.notStarted': 'This campaign has not started yet: please try again once it opens.',
  'form.error.closed': 'This campaign is {status}: it no longer takes new submissions.',
  'form.error.network': 'We could not reach the server. Check your connection and try again.',
  'form.error.server': 'Something went wrong on our side. Please try again.',
  'form.error.check': 'Please check the form.',
  'campaign.loadFailed': 'This campaign could not be loaded. Please reload the page to try again.',
  // A confirmation link mailed at a join, opened on this page.
  'verify.checking': 'Confirming your email address…',
  'verify.confirmed': 'Your email address is confirmed. Thank you!',
  'verify.invalid':
    'This confirmation link no longer works: it expired, was used already, or a newer one was sent.',
  'verify.failed': 'Your email address could not be confirmed just now.',
  'verify.retry': 'Try again',
  // After a join that mailed such a link.
  'verify.mailed': 'We sent a link to {email}: open it to confirm your address.',
  'verify.resend': 'Send the link again',
  'verify.resent': 'A new link is on its way to {email}. Only the newest one works.',
  'verify.already': 'Your email address is already confirmed.',
  // Under the welcome: who this browser is signed in as, signing out, and erasing one's data.
  'account.signedInAs': 'Signed in as {name}.',
  'account.notYou': 'Not you?',
  'account.signOut': 'Sign out',
  'account.signedOut': 'You are signed out on this browser.',
  'account.signedOutHere':
    'You are signed out on this browser. The server could not be reached, so your session there ends by itself when it expires.',
  'account.erase': 'Delete my data',
  'account.erase.explain':
    'This erases your name, your email address and what you sent (quote requests, pictures) on every campaign you joined, and signs you out. Counts such as visitors and referrals stay, without your name. This cannot be undone.',
  'account.erase.confirm': 'Erase my data',
  'account.erase.cancel': 'Keep my data',
  'account.erase.refused':
    'This browser is no longer signed in as you, so it cannot erase your data. Sign out here, and ask the campaign team to erase it.',
  'account.erased': 'Your data was erased. This browser is signed out.',
  'cursor.guest': 'Guest {id}',
  /** `document.title`: the campaign's own title, then what the page is. */
  'page.title': '{title}: live campaigns',
} as const

/** A status the page names (`This campaign is {status}.`): its own translated word. */
export function statusKey(status: string): StringKey {
  return status === 'ended' || status === 'archived' || status === 'draft'
    ? `campaign.status.${status}`
    : 'campaign.status.closed'
}

export type StringKey = keyof typeof STRINGS

/**
 * Counted sentences, by the placeholder that holds their count: `t('feed.milestone', { count })`
 * reads `feed.milestone.one` or `feed.milestone.other` as the shown language's plural rules say.
 */
export const PLURALS = { 'feed.milestone': 'count', 'form.error.rateLimited': 'seconds' } as const

export type PluralKey = keyof typeof PLURALS

/** A string of the page, or a counted one (its plural form chosen when it is shown). */
export type TextKey = StringKey | PluralKey

export const LANGUAGES: Array<{ code: string; name: string }> = [
  { code: 'en', name: 'English' },
  { code: 'es', name: 'Español' },
  { code: 'fr', name: 'Français' },
  { code: 'de', name: 'Deutsch' },
  { code: 'pt', name: 'Português' },
  { code: 'ja', name: '日本語' },
]
