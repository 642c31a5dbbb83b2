import { useEffect, useRef } from 'preact/hooks'
import { useI18n } from './i18n.js'
import type { Live, RemoteCursor } from './live.js'

/** A stable hue per cursor id, so a visitor keeps their colour across ticks and reloads. */
export function hueFor(id: string): number {
  let h = 0
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0
  return h % 360
}

const ARROW = 'M3 2 L3 19 L7.5 14.8 L10.6 21.6 L13.4 20.4 L10.4 13.7 L16.5 13.4 Z'

/**
 * Everyone else's cursors over the page. Positions arrive at the campaign's tick rate and are
 * eased every animation frame, so movement looks continuous at 1 Hz as well as at 30 Hz. The
 * layer is absolutely positioned and never takes space, so cursors cause no layout shift.
 */
export function CursorLayer({ live }: { live: Live }) {
  const layer = useRef<HTMLDivElement>(null)
  const freq = useRef(live.frequency)
  freq.current = live.frequency
  // Read by the animation loop: a language switch rewords the labels already drawn.
  const { t } = useI18n()
  const words = useRef(t)
  words.current = t

  // Send this visitor's pointer (mouse moves, touch taps) as page-relative coordinates.
  useEffect(() => {
    const conn = live.connection
    if (!conn) return
    const send = (e: PointerEvent) => {
      const doc = document.documentElement
      conn.sendCursor(e.pageX / Math.max(1, doc.scrollWidth), e.pageY / Math.max(1, doc.scrollHeight))
    }
    const move = (e: PointerEvent) => e.pointerType === 'mouse' && send(e)
    const tap = (e: PointerEvent) => e.pointerType !== 'mouse' && send(e)
    window.addEventListener('pointermove', move, { passive: true })
    window.addEventListener('pointerdown', tap, { passive: true })
    return () => {
      window.removeEventListener('pointermove', move)
      window.removeEventListener('pointerdown', tap)
    }
  }, [live.connection])

  useEffect(() => {
    const root = layer.current
    if (!root) return
    const nodes = new Map<string, HTMLElement>()
    /** Each label and the `t` it was worded with. */
    const labels = new Map<string, { tag: HTMLElement; t: typeof t }>()
    const label = (c: RemoteCursor) => {
      const l = labels.get(c.id)
      if (!l || l.t === words.current) return
      l.t = words.current
      l.tag.textContent = c.label ?? words.current('cursor.guest', { id: c.id.slice(-4) })
    }
    let last = performance.now()
    let raf = 0
    const frame = (now: number) => {
      const dt = Math.min(250, now - last)
      last = now
      const tau = 1000 / Math.max(0.5, freq.current) / 3
      const k = 1 - Math.exp(-dt / tau)
      const w = root.clientWidth
      const h = root.clientHeight
      for (const [id, node] of nodes) {
        if (!live.cursors.has(id)) {
          node.remove()
          nodes.delete(id)
          labels.delete(id)
        }
      }
      for (const c of live.cursors.values()) {
        let node = nodes.get(c.id)
        if (!node) {
          node = cursorNode(c.id)
          root.appendChild(node)
          nodes.set(c.id, node)
          labels.set(c.id, { tag: node.lastElementChild as HTMLElement, t: () => '' })
        }
        label(c)
        c.x += (c.tx - c.x) * k
        c.y += (c.ty - c.y) * k
        node.style.transform = `translate3d(${(c.x * w).toFixed(1)}px, ${(c.y * h).toFixed(1)}px, 0)`
        node.style.opacity = now - c.seenAt > 30_000 ? '0.35' : '1'
      }
      raf = requestAnimationFrame(frame)
    }
    raf = requestAnimationFrame(frame)
    return () => {
      cancelAnimationFrame(raf)
      for (const n of nodes.values()) n.remove()
    }
  }, [live.cursors])

  return <div class="cursor-layer" ref={layer} aria-hidden="true" />
}

/** Built with DOM APIs; its label (the last child) is set as `textContent`: text, never markup. */
function cursorNode(id: string): HTMLElement {
  const hue = hueFor(id)
  const el = document.createElement('div')
  el.className = 'remote-cursor'
  el.dataset.cursorId = id
  el.style.setProperty('--cursor-color', `hsl(${hue} 85% 55%)`)
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg')
  svg.setAttribute('viewBox', '0 0 24 24')
  svg.setAttribute('width', '22')
  svg.setAttribute('height', '22')
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path')
  path.setAttribute('d', ARROW)
  svg.appendChild(path)
  const tag = document.createElement('span')
  tag.className = 'remote-cursor-label'
  el.append(svg, tag)
  return el
}
