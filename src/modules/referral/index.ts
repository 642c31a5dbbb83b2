export {
  qualifyReferralsOnActions as qualifyOnActions,
  registerReferralActions as registerActions,
} from './referral.actions.js'
export { referralManifest as manifest } from './referral.manifest.js'
export { referralRoutes as routes } from './referral.routes.js'
export { leaderboardSize } from './referral.rules.js'
export { createReferralService, type ReferralService } from './referral.service.js'
