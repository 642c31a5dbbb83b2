/** JSON over HTTP for bench set-up (creating campaigns, sessions…), failing loudly on a surprise status. */
export async function requestJson<T = any>(
  url: string,
  options: { method?: string; body?: unknown; headers?: Record<string, string>; expect?: number[] } = {},
): Promise<T> {
  const res = await fetch(url, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  })
  const text = await res.text()
  const expect = options.expect ?? [200, 201]
  if (!expect.includes(res.status)) {
    throw new Error(`${options.method ?? 'request'} ${url} answered ${res.status}: ${text.slice(0, 500)}`)
  }
  return (text ? JSON.parse(text) : undefined) as T
}
