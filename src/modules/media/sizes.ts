import { AppError } from '../../platform/http/errors.js'

/** A byte count as people read it: `512 bytes`, `1.5 KiB`, `100 MiB`. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${n} bytes` : `${Number(v.toFixed(1))} ${units[i]}`
}

/** 413 `MEDIA_TOO_LARGE`: the file is over the campaign's largest upload (`max_bytes` in details). */
export function fileTooLarge(max: number): AppError {
  return new AppError(
    413,
    'MEDIA_TOO_LARGE',
    `File is larger than ${formatBytes(max)}, the largest upload here`,
    {
      details: { max_bytes: max },
    },
  )
}

/**
 * 400 `UPLOAD_SIZE_MISMATCH`: the body is not the `size` the upload URL was asked for. A body that
 * ends short is a cut-off upload, never a file to publish; one that goes on is not the file named.
 */
export function sizeMismatch(declared: number, received: number, more = false): AppError {
  return new AppError(
    400,
    'UPLOAD_SIZE_MISMATCH',
    more
      ? `The upload URL was asked for ${declared} bytes; more came`
      : `The upload URL was asked for ${declared} bytes; ${received} came`,
    { details: { declared_bytes: declared, received_bytes: received } },
  )
}
