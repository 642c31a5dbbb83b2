// Server → client frames of `/ws/{campaign}/{user_id}` (ARCHITECTURE.md section 4). The gateway's
// schemas replace these with `import type` once it merges.

export type CursorTuple = [id: string, x: number, y: number, label?: string]

export interface ConnectedFrame {
  type: 'connected'
  session_id: string
  campaign: string
  active_users: number
  server_time: string
  [key: string]: unknown
}

export interface PresenceFrame {
  type: 'presence_update'
  active_users: number
  cursors: CursorTuple[]
  left?: string[]
  tick: number
}

export interface StatsFrame {
  type: 'stats_update'
  [key: string]: unknown
}

export interface UpdateAckFrame {
  type: 'update_ack'
  request_id: string
  action?: string
  status: 'success' | 'error' | string
  result?: unknown
  error?: { code: string; message: string; details?: unknown }
}

export interface CampaignEventFrame {
  type: 'campaign_event'
  id?: number | string
  event: string
  payload: any
  campaign_id?: string
  timestamp?: string
  [key: string]: unknown
}

export interface MediaEventFrame {
  type: 'media_event'
  media_id: string
  status: 'uploading' | 'processing' | 'ready' | 'failed' | string
  progress?: number
  url?: string
  thumbnail_url?: string
  reason?: string
}

export interface StreamEventFrame {
  type: 'stream_event'
  stream_id: string
  status?: string
  viewers?: number
  kind?: string
  [key: string]: unknown
}

export interface NotificationFrame {
  type: 'notification'
  message?: string
  [key: string]: unknown
}

export interface ErrorFrame {
  type: 'error'
  code: string
  message: string
  request_id?: string
}

export interface ResyncFrame {
  type: 'resync_required'
  [key: string]: unknown
}

export interface PongFrame {
  type: 'pong'
  [key: string]: unknown
}

export interface FrameMap {
  connected: ConnectedFrame
  presence_update: PresenceFrame
  stats_update: StatsFrame
  update_ack: UpdateAckFrame
  campaign_event: CampaignEventFrame
  media_event: MediaEventFrame
  stream_event: StreamEventFrame
  notification: NotificationFrame
  error: ErrorFrame
  resync_required: ResyncFrame
  pong: PongFrame
}

export type ServerFrame = FrameMap[keyof FrameMap]
