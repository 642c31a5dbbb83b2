export { manifest } from './web.manifest.js'
export { webRoutes as routes, type WebOptions } from './web.routes.js'
