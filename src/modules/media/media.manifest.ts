import type { ModuleManifest } from '../../platform/module.js'

export const mediaManifest: ModuleManifest = {
  name: 'media',
  version: '1.0.0',
  description:
    'Media uploads through signed single-use URLs, streamed to disk or S3 with live progress, magic-byte ' +
    'checks, SHA-256, image dimensions and thumbnails, images published without their EXIF/XMP and ' +
    'comments (GPS position included), MP4/QuickTime/3GP/M4A without their location boxes, within ' +
    'per-campaign and per-uploader storage quotas; uploads a crash interrupted fail; served with ' +
    'Range, conditional requests and HEAD; their uploader reads where they stand; erased with their uploader',
  capabilities: ['media.upload', 'media.serve', 'media.thumbnail'],
  dependencies: ['campaign', 'nexus', 'realtime', 'database', 'storage'],
  endpoints: [
    {
      method: 'PUT',
      path: '/media/upload/:token',
      auth: 'public',
      summary: 'Signed upload URL (single use)',
    },
    { method: 'GET', path: '/media/:id', auth: 'public', summary: 'Media bytes (Range, 304, HEAD)' },
    {
      method: 'GET',
      path: '/media/:id/thumbnail',
      auth: 'public',
      summary: 'Image thumbnail (WebP; 304, HEAD)',
    },
    { method: 'GET', path: '/api/media/:id', auth: 'session', summary: "Read one's own upload status" },
    { method: 'GET', path: '/api/campaign/:slug/media', auth: 'editor', summary: "A campaign's media" },
    {
      method: 'DELETE',
      path: '/api/campaign/:slug/media/:id',
      auth: 'session',
      summary: 'Delete a media (its uploader or an editor), freeing its storage quota',
    },
  ],
  actions: ['media.upload'],
  events: [
    {
      name: 'media_event',
      channel: 'ws',
      direction: 'emits',
      description:
        'To the uploader: uploading {progress} → processing → ready {url, thumbnail_url} | failed {reason} ' +
        '(reason "interrupted": its server died mid-upload, found by the sweep; "idle_timeout": no ' +
        'byte came for HTTP_BODY_IDLE_TIMEOUT_SECONDS; "too_slow": the bytes came under ' +
        'HTTP_BODY_MIN_BYTES_PER_SECOND)',
    },
  ],
  tables: ['service_media_main'],
  features: ['media'],
}
