import { CREDENTIALS_REVOKED_CHANNEL, credentialsRevokedSchema } from '../../platform/auth/revoked.js'
import type { ModuleManifest } from '../../platform/module.js'

export const userManifest: ModuleManifest = {
  name: 'user',
  version: '1.0.0',
  description:
    'Registration (join a campaign), password login, per-campaign referral codes and erasure of personal data',
  capabilities: [
    'user.register',
    'user.login',
    'user.refresh',
    'user.me',
    'user.logout',
    'user.password_reset',
    'user.email_verification',
    'user.erase',
    'user.role',
    'user.referral_code',
  ],
  dependencies: ['campaign', 'nexus', 'auth', 'database', 'realtime', 'ratelimit', 'mail', 'localization'],
  endpoints: [
    { method: 'POST', path: '/api/user/register', auth: 'public', summary: 'Join a campaign' },
    { method: 'POST', path: '/api/auth/login', auth: 'public', summary: 'Log in' },
    {
      method: 'POST',
      path: '/api/auth/refresh',
      auth: 'participant',
      summary: 'A new token for a person’s token: fresh expiry, current role',
    },
    { method: 'GET', path: '/api/auth/me', auth: 'session', summary: 'Who the caller is (own data only)' },
    {
      method: 'PATCH',
      path: '/api/auth/me',
      auth: 'participant',
      summary: 'A person changes their own display name or locale',
    },
    { method: 'POST', path: '/api/auth/logout', auth: 'session', summary: "End the caller's session" },
    {
      method: 'POST',
      path: '/api/auth/logout/all',
      auth: 'session',
      summary: "End all of the caller's sessions",
    },
    {
      method: 'POST',
      path: '/api/auth/password',
      auth: 'participant',
      summary: 'Change the password with the current one; every session ends, a new one is answered',
    },
    {
      method: 'POST',
      path: '/api/auth/password/forgot',
      auth: 'public',
      summary: 'Mail a link to choose a new password (the same answer whether or not the account exists)',
    },
    {
      method: 'POST',
      path: '/api/auth/password/reset',
      auth: 'public',
      summary: "Set a new password with a mailed link's token; every session of the person ends",
    },
    {
      method: 'POST',
      path: '/api/auth/email/verification',
      auth: 'participant',
      summary: 'Mail the caller a link confirming their address',
    },
    {
      method: 'POST',
      path: '/api/auth/email/verify',
      auth: 'public',
      summary: "Confirm an address with a mailed link's token; the person's campaigns log email_verified",
    },
    {
      method: 'DELETE',
      path: '/api/user/:id',
      auth: 'participant',
      summary: 'Erase a person (self or admin)',
    },
    {
      method: 'GET',
      path: '/api/users',
      auth: 'admin',
      summary: 'People (not erased), newest first, by role or text: whom to give a role',
    },
    {
      method: 'PUT',
      path: '/api/user/:id/role',
      auth: 'admin',
      summary: 'Give a person a role (participant, editor, admin); lowering one cuts off their tokens',
    },
  ],
  actions: ['user.register'],
  events: [
    { name: 'notification', channel: 'ws', direction: 'emits', description: 'Welcome message on join' },
    {
      name: CREDENTIALS_REVOKED_CHANNEL,
      channel: 'bus',
      direction: 'emits',
      description:
        'A logout, an erasure or a lowered role committed: its sessions (and with `all` every token of the person)',
      schema: credentialsRevokedSchema,
    },
    {
      name: CREDENTIALS_REVOKED_CHANNEL,
      channel: 'bus',
      direction: 'consumes',
      description: 'Each node forgets what its revocation cache holds of them, so REST refuses them at once',
    },
  ],
  tables: [
    'service_user_master',
    'service_user_membership',
    'service_user_revoked_session',
    'service_user_session',
    'service_user_password_reset',
    'service_user_email_verification',
    'service_analytics_event',
  ],
  features: ['registration'],
}
