import type { TSchema } from 'typebox'
import type { EventSchemaEntry, EventSchemaRegistry } from './event-schemas.js'
import { CampaignEventFrame } from './frames.schema.js'

export interface AsyncApiOptions {
  version: string
  /** `PUBLIC_URL`, when set: the server entry uses its host and scheme. */
  publicUrl?: string
  port: number
}

const CHANNELS = {
  campaignSocket: {
    channel: 'ws',
    address: '/ws/{campaign}/{user_id}',
    title: 'Campaign WebSocket',
    description:
      'One socket per visitor and campaign. Auth: token in `?token=`, the Sec-WebSocket-Protocol header or a cookie; `user_id` must be the token user (or `guest`).',
    parameters: {
      campaign: { description: 'Campaign slug' },
      user_id: { description: "The token's user id, or `guest` for a guest session" },
    },
  },
  cable: {
    channel: 'cable',
    address: '/cable',
    title: 'ActionCable (StreamSource compatible)',
    description: 'The ActionCable protocol; subscribe to `StreamsChannel` for stream changes.',
    parameters: undefined,
  },
} as const

const safeKey = (s: string) => s.replace(/[^a-zA-Z0-9._-]/g, '_')

/** A dotted campaign event (`referral.milestone`) travels as a `campaign_event` frame: its schema is the payload. */
function payloadOf(entry: EventSchemaEntry): TSchema {
  if (entry.channel !== 'ws' || !entry.name.includes('.')) return entry.schema
  return {
    ...CampaignEventFrame,
    properties: {
      ...CampaignEventFrame.properties,
      event: { type: 'string', const: entry.name },
      payload: entry.schema,
    },
  } as TSchema
}

/**
 * The AsyncAPI 3.0 document for `/ws/{campaign}/{user_id}` and `/cable`, generated from the
 * event-schema registry (the schemas validation and the gateway use), never written by hand.
 */
export function generateAsyncApi(registry: EventSchemaRegistry, options: AsyncApiOptions) {
  const url = options.publicUrl ? new URL(options.publicUrl) : undefined
  const channels: Record<string, unknown> = {}
  const operations: Record<string, unknown> = {}
  for (const [channelKey, def] of Object.entries(CHANNELS)) {
    const messages: Record<string, unknown> = {}
    const entries = registry
      .list()
      .filter((e) => e.channel === def.channel)
      .sort((a, b) => (a.direction + a.name < b.direction + b.name ? -1 : 1))
    for (const entry of entries) {
      const messageKey = safeKey(`${entry.direction === 'send' ? 'server' : 'client'}.${entry.name}`)
      messages[messageKey] = {
        name: entry.name,
        title: entry.name,
        summary: entry.description ?? entry.name,
        contentType: 'application/json',
        payload: JSON.parse(JSON.stringify(payloadOf(entry))),
      }
      operations[safeKey(`${channelKey}.${messageKey}`)] = {
        action: entry.direction,
        channel: { $ref: `#/channels/${channelKey}` },
        summary: `${entry.direction === 'send' ? 'Server sends' : 'Client sends'} ${entry.name}`,
        messages: [{ $ref: `#/channels/${channelKey}/messages/${messageKey}` }],
      }
    }
    channels[channelKey] = {
      address: def.address,
      title: def.title,
      description: def.description,
      ...(def.parameters ? { parameters: def.parameters } : {}),
      messages,
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Ovasabi real-time API',
      version: options.version,
      description: 'WebSocket frames (ARCHITECTURE section 4) and the ActionCable protocol on /cable.',
    },
    defaultContentType: 'application/json',
    servers: {
      ovasabi: {
        host: url ? url.host : `localhost:${options.port}`,
        protocol: url?.protocol === 'https:' ? 'wss' : 'ws',
        description: 'The Ovasabi server',
        security: [{ $ref: '#/components/securitySchemes/token' }],
      },
    },
    channels,
    operations,
    components: {
      securitySchemes: {
        token: {
          type: 'httpApiKey',
          name: 'token',
          in: 'query',
          description: 'Session JWT (also accepted in Sec-WebSocket-Protocol or a cookie)',
        },
      },
    },
  }
}
