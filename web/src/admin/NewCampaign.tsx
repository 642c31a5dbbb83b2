import { useState } from 'preact/hooks'
import type { OvasabiClient } from '../../../client/index.js'
import { errorText } from './api.js'
import { useOneAtATime } from './one-at-a-time.js'

/** Slug and title: a new campaign starts with presence and analytics, then opens in its settings. */
export function NewCampaign(props: { client: OvasabiClient; onCreated: (slug: string) => void }) {
  const [error, setError] = useState<string>()
  const work = useOneAtATime()
  async function submit(e: Event) {
    e.preventDefault()
    // A second click while the first is on its way would be refused as CAMPAIGN_EXISTS.
    if (work.busy()) return
    const f = new FormData(e.currentTarget as HTMLFormElement)
    const title = String(f.get('title') ?? '').trim()
    if (!title) {
      setError('Give the campaign a title.')
      return
    }
    await work.run(async () => {
      try {
        const c = await props.client.campaigns.create({
          slug: String(f.get('slug')),
          title,
          draft: f.get('draft') === 'on',
          metadata: { features: ['presence', 'analytics'], scheduling: { frequency: 1 } },
        })
        props.onCreated(c.slug)
      } catch (err) {
        setError(errorText(err))
      }
    })
  }
  return (
    <section>
      <h1>New campaign</h1>
      <form class="panel form-narrow" onSubmit={submit} data-testid="new-campaign-form">
        <div class="field">
          <label for="new-slug">Slug</label>
          <input
            id="new-slug"
            name="slug"
            required
            pattern="[a-z0-9][a-z0-9_\-]{0,63}"
            placeholder="spring_sale_2025"
          />
          <span class="hint">Lower-case letters, digits, _ and -. Used in URLs: /c/slug.</span>
        </div>
        <div class="field">
          <label for="new-title">Title</label>
          <input id="new-title" name="title" required maxLength={200} />
        </div>
        <label class="check">
          <input type="checkbox" name="draft" /> Start as draft
        </label>
        {error && (
          <p class="notice" data-tone="danger" role="alert">
            {error}
          </p>
        )}
        <button class="btn btn-primary" type="submit" disabled={work.pending}>
          Create
        </button>
      </form>
    </section>
  )
}
