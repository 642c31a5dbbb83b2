export {
  type ActionOptions,
  type CampaignMergePatch,
  type ClientOptions,
  createClient,
  type OvasabiClient,
} from './client.js'
export type * from './contracts.js'
export { isOvasabiError, OvasabiError, type FieldIssue } from './errors.js'
export type * from './frames.js'
export type { ConditionalOptions, FetchLike } from './http.js'
export {
  backoffDelay,
  type BackoffOptions,
  type ConnectionState,
  connectRealtime,
  type DispatchOptions,
  isRestartClose,
  RealtimeConnection,
  type RealtimeOptions,
  restartDelay,
  type StateChange,
  type WebSocketCtor,
  type WebSocketLike,
} from './realtime.js'
export type { StreamRestOptions } from './stream-rest.js'
export type { PutOptions } from './upload.js'
export type * from './types.js'
export { ulid } from './ulid.js'
