import type { ModuleManifest } from '../../platform/module.js'
import { MilestoneEvent } from './referral.schema.js'

export const referralManifest: ModuleManifest = {
  name: 'referral',
  version: '1.0.0',
  description:
    'Referral codes applied once per person, fraud rules, atomic counters, exactly-once live milestones, leaderboard',
  capabilities: ['referral.apply', 'referral.milestones', 'referral.leaderboard', 'referral.audit'],
  dependencies: ['user', 'campaign', 'nexus', 'database', 'realtime'],
  endpoints: [
    { method: 'POST', path: '/api/referral', auth: 'participant', summary: 'Apply a referral code' },
    {
      method: 'GET',
      path: '/api/campaign/:slug/referrals/leaderboard',
      auth: 'session',
      summary: 'Top referrers (display names only)',
    },
    {
      method: 'GET',
      path: '/api/campaign/:slug/referrals/audit',
      auth: 'editor',
      summary: 'Referral audit trail',
    },
  ],
  actions: ['referral.apply'],
  events: [
    {
      name: 'referral.milestone',
      channel: 'ws',
      direction: 'emits',
      description: 'campaign_event to the whole campaign when a referrer crosses a threshold (exactly once)',
      schema: MilestoneEvent,
    },
  ],
  tables: [
    'service_referral_main',
    'service_referral_audit',
    'service_referral_counter',
    'service_referral_ipcount',
    'service_referral_milestone',
    'service_referral_recheck',
  ],
  features: ['referral'],
}
