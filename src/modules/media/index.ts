import type { Config } from '../../config.js'
import { createDiskStorage } from './disk.storage.js'
import type { StorageAdapter } from './storage.js'

export { registerMediaActions as registerActions } from './media.actions.js'
export { mediaManifest as manifest } from './media.manifest.js'
export { mediaRoutes as routes } from './media.routes.js'
export { createMediaService, type MediaService } from './media.service.js'
export { createUploadSigner } from './signing.js'

/**
 * S3-compatible storage when `S3_BUCKET` is set, else the disk under `MEDIA_DIR`. The AWS SDK is
 * loaded only then: it costs a fifth of a second to load, for every process that never uses it.
 */
export async function createStorage(config: Config): Promise<StorageAdapter> {
  if (config.S3_BUCKET) {
    const { createS3Storage } = await import('./s3.storage.js')
    return createS3Storage({
      bucket: config.S3_BUCKET,
      region: config.S3_REGION,
      endpoint: config.S3_ENDPOINT,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
      forcePathStyle: config.S3_FORCE_PATH_STYLE === 'true',
    })
  }
  return createDiskStorage(config.MEDIA_DIR)
}
