/**
 * Campaign features known to the platform; a module's actions are enabled by one of these.
 * Dependency-free so the web console can import the same list.
 */
export const FEATURES = [
  'presence',
  'analytics',
  'registration',
  'quote',
  'referral',
  'translation',
  'media',
  'streaming',
  'notification',
] as const
export type Feature = (typeof FEATURES)[number]
