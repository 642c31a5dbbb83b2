import { PGlite } from '@electric-sql/pglite'

/** After an Ovasabi server on PGlite has stopped: its analytics rows and `events_total` for a campaign. */
export async function countPgliteEvents(
  dir: string,
  campaign: string,
): Promise<{ rows: number; eventsTotal: number | undefined }> {
  const client = await PGlite.create({ dataDir: dir })
  try {
    const rows = await client.query<{ n: number }>(
      'select count(*)::int as n from service_analytics_event where campaign_slug = $1',
      [campaign],
    )
    const counter = await client.query<{ n: number }>(
      `select coalesce(sum(count), 0)::int as n from service_campaign_counter where campaign_slug = $1 and name = 'events_total'`,
      [campaign],
    )
    return { rows: rows.rows[0]!.n, eventsTotal: counter.rows[0]?.n }
  } finally {
    await client.close()
  }
}
