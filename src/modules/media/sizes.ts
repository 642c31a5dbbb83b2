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
