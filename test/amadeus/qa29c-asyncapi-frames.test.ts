import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { WebSocket } from 'ws'
import sharp from 'sharp'
import type { RealtimeMessage } from '../../src/realtime/publish.js'
import {
  adminHeaders,
  buildTestApp,
  captureFrames,
  createCampaign,
  guestToken,
  json,
  listenLocally,
  sendAction,
  type TestContext,
  userToken,
} from '../helper.js'
import { goLive } from '../live-stream-fixtures.js'

/**
 * The AsyncAPI document is a contract a client generates code from: every frame the server
 * really sends on `/ws/{campaign}/{user_id}` must be one of the channel's server messages and
 * valid against its payload schema.
 */
interface Message {
  name: string
  payload: Record<string, unknown>
}

function openSocket(url: string): Promise<{ ws: WebSocket; frames: any[] }> {
  const ws = new WebSocket(url)
  const frames: any[] = []
  ws.on('message', (data) => frames.push(JSON.parse(String(data))))
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, frames }))
    ws.once('error', reject)
  })
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('AsyncAPI payloads match what the gateway sends (qa29c)', () => {
  let t: TestContext
  let origin: string
  let doc: any
  const published: RealtimeMessage[] = []
  const send: Message[] = []
  const validators = new Map<Message, ValidateFunction>()

  before(async () => {
    t = await buildTestApp()
    origin = await listenLocally(t.app)
    await captureFrames(t.app, (m) => published.push(m))
    doc = json(await t.app.inject({ url: '/docs/asyncapi.json' }))
    const ajv = new Ajv({ strict: false, allErrors: true })
    addFormats.default(ajv)
    const ops = Object.values(doc.operations) as any[]
    for (const op of ops) {
      if (op.action !== 'send' || op.channel.$ref !== '#/channels/campaignSocket') continue
      for (const ref of op.messages) {
        const key = ref.$ref.split('/').at(-1)
        const m = doc.channels.campaignSocket.messages[key] as Message
        send.push(m)
        validators.set(m, ajv.compile(m.payload))
      }
    }
  })
  after(() => t.close())

  /** The messages a frame may be (a dotted campaign event: its own message when it has one). */
  function check(frame: any): string[] {
    const candidates = send.filter((m) => {
      const p = m.payload.properties as any
      if (p?.type?.const !== frame.type) return false
      if (frame.type !== 'campaign_event') return true
      return p.event?.const === undefined || p.event.const === frame.event
    })
    const specific = candidates.filter((m) => (m.payload.properties as any).event?.const !== undefined)
    const pick = specific.length > 0 ? specific : candidates
    if (pick.length === 0) return [`${frame.type}: no server message in the document`]
    const v = validators.get(pick[0]!)!
    return v(frame)
      ? []
      : [`${frame.type}${frame.event ? ` ${frame.event}` : ''}: ${JSON.stringify(v.errors)}`]
  }

  it('every frame a visitor gets validates against its message payload', async () => {
    const slug = await createCampaign(t.app)
    const { token } = await guestToken(t.app)
    const base = origin.replace('http', 'ws')
    const a = await openSocket(`${base}/ws/${slug}/guest?token=${token}`)
    const other = await guestToken(t.app)
    const b = await openSocket(`${base}/ws/${slug}/guest?token=${other.token}`)
    try {
      await until(() => a.frames.some((f) => f.type === 'connected'), 'connected')
      b.ws.send(JSON.stringify({ type: 'cursor', x: 0.5, y: 0.25 }))
      a.ws.send(JSON.stringify({ type: 'ping', ts: 12 }))
      a.ws.send(JSON.stringify({ type: 'no_such_frame' }))
      a.ws.send(
        JSON.stringify({
          type: 'campaign_event',
          campaign_id: slug,
          user: { user_id: 'guest' },
          event: 'content.view',
          payload: {},
          request_id: 'req_qa29c_1',
        }),
      )
      a.ws.send(JSON.stringify({ type: 'auth', token: (await guestToken(t.app)).token }))
      const member = await userToken(t.app, 'qa29c_user')
      const c = await openSocket(`${base}/ws/${slug}/qa29c_user?token=${member}&since=999999`)
      try {
        await until(() => a.frames.some((f) => f.type === 'presence_update'), 'presence_update')
        await until(() => a.frames.some((f) => f.type === 'update_ack'), 'update_ack')
        await until(() => a.frames.some((f) => f.type === 'pong'), 'pong')
        await until(() => a.frames.filter((f) => f.type === 'error').length >= 2, 'errors')
        await until(() => c.frames.some((f) => f.type === 'connected'), 'connected (c)')
        const all = [...a.frames, ...b.frames, ...c.frames]
        const types = new Set(all.map((f) => f.type))
        for (const type of ['connected', 'presence_update', 'update_ack', 'pong', 'error'])
          assert.ok(types.has(type), `${type} among ${[...types].join(', ')}`)
        assert.deepEqual(all.flatMap(check), [])
      } finally {
        c.ws.close()
      }
    } finally {
      a.ws.close()
      b.ws.close()
    }
  })
})

describe('AsyncAPI: media, stream and notification frames are described, not just named (qa29c)', () => {
  let t: TestContext
  let origin: string
  let doc: any
  const published: RealtimeMessage[] = []
  before(async () => {
    t = await buildTestApp()
    origin = await listenLocally(t.app)
    await captureFrames(t.app, (m) => published.push(m))
    doc = json(await t.app.inject({ url: '/docs/asyncapi.json' }))
  })
  after(() => t.close())

  const payloadOf = (type: string) => doc.channels.campaignSocket.messages[`server.${type}`].payload
  /** Every property name the payload (or any branch of it) declares. */
  const declared = (schema: any): string[] =>
    schema.anyOf ? schema.anyOf.flatMap(declared) : Object.keys(schema.properties ?? {})

  it('the document says what each frame carries', () => {
    const media = declared(payloadOf('media_event'))
    for (const field of ['campaign_id', 'media_id', 'status', 'progress', 'url', 'thumbnail_url', 'reason'])
      assert.ok(media.includes(field), `media_event.${field} in ${media.join(', ')}`)
    const stream = declared(payloadOf('stream_event'))
    for (const field of ['kind', 'stream_id', 'status', 'text', 'viewers'])
      assert.ok(stream.includes(field), `stream_event.${field} in ${stream.join(', ')}`)
    const note = declared(payloadOf('notification'))
    for (const field of ['message', 'lead_id', 'referral_code'])
      assert.ok(note.includes(field), `notification.${field} in ${note.join(', ')}`)
  })

  it('and what the modules publish validates against it', async () => {
    const ajv = new Ajv({ strict: false, allErrors: true })
    addFormats.default(ajv)
    const check = (type: string) => ajv.compile(payloadOf(type))
    const slug = await createCampaign(t.app)
    const { token: guest } = await guestToken(t.app)
    const joined = await t.app.inject({
      method: 'POST',
      url: '/api/user/register',
      headers: { authorization: `Bearer ${guest}` },
      payload: { campaign: slug, email: `qa29c_${Date.now()}@example.org`, name: 'Ada' },
    })
    assert.equal(joined.statusCode, 201, joined.body)
    const member = json(joined).token as string
    // A stream goes live and gets a chat message.
    const streamId = await goLive(t.app, slug, member)
    const chat = await sendAction(t.app, slug, member, 'stream.chat', { stream_id: streamId, text: 'hi <b>' })
    assert.equal(chat.statusCode, 200, chat.body)
    // An upload goes to ready.
    const ticket = await sendAction(t.app, slug, member, 'media.upload', {
      filename: 'dot.png',
      content_type: 'image/png',
    })
    assert.equal(ticket.statusCode, 200, ticket.body)
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c33' } })
      .png()
      .toBuffer()
    const put = await fetch(origin + json(ticket).result.upload_url, {
      method: 'PUT',
      body: new Uint8Array(png),
    })
    assert.equal(put.status, 200, await put.text())
    // A lead's status moves: its submitter is told.
    const lead = await t.app.inject({
      method: 'POST',
      url: '/api/quote',
      headers: { authorization: `Bearer ${member}` },
      payload: { campaign: slug, name: 'Ada', email: 'ada@example.org' },
    })
    assert.equal(lead.statusCode, 200, lead.body)
    const leadId = JSON.stringify(json(lead)).match(/"(?:lead_id|id)":"([^"]+)"/)![1]
    const moved = await t.app.inject({
      method: 'PATCH',
      url: `/api/campaign/${slug}/leads/${leadId}`,
      headers: adminHeaders,
      payload: { status: 'contacted' },
    })
    assert.equal(moved.statusCode, 200, moved.body)

    const wanted = ['media_event', 'stream_event', 'notification']
    for (let i = 0; i < 200; i++) {
      const frames = published.map((m) => m.frame as any)
      const seen = (pred: (f: any) => boolean) => frames.some(pred)
      if (
        seen((f) => f.type === 'media_event' && f.status === 'ready') &&
        seen((f) => f.type === 'stream_event' && f.kind === 'chat') &&
        seen((f) => f.type === 'notification' && f.kind === 'quote.status') &&
        seen((f) => f.type === 'notification' && f.event === 'user.welcome')
      )
        break
      await new Promise((r) => setTimeout(r, 25))
    }
    const frames = published.map((m) => m.frame as any).filter((f) => wanted.includes(f.type))
    const kinds = new Set(frames.map((f) => `${f.type}:${f.status ?? ''}:${f.kind ?? f.event ?? ''}`))
    for (const k of [
      'media_event:uploading:',
      'media_event:ready:',
      'stream_event:live:status',
      'stream_event::chat',
    ])
      assert.ok(kinds.has(k), `${k} among ${[...kinds].join(', ')}`)
    const problems = frames.flatMap((f) => {
      const v = check(f.type)
      return v(f) ? [] : [`${JSON.stringify(f)}: ${JSON.stringify(v.errors)}`]
    })
    assert.deepEqual(problems, [])
  })
})
