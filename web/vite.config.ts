import { fileURLToPath } from 'node:url'
import preact from '@preact/preset-vite'
import { defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))

// Two pages: the campaign site (`/`, `/c/{campaign}`) and the admin console (`/admin`), so the
// public page never downloads the console (or Mermaid, which the console loads on demand).
export default defineConfig({
  root,
  base: '/',
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    // No inline scripts or `data:` modules: the server's CSP allows scripts from 'self' only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // Mermaid's diagram chunks are large but load only when the console opens the service graph.
    chunkSizeWarningLimit: 1000,
    rollupOptions: {
      input: { site: `${root}index.html`, admin: `${root}admin.html` },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8090', '/ws': { target: 'ws://127.0.0.1:8090', ws: true } } },
})
