export { registerLocalizationActions as registerActions } from './localization.actions.js'
export { localizationManifest as manifest } from './localization.manifest.js'
export { localizationRoutes as routes } from './localization.routes.js'
export { createLocalizationService, type LocalizationService } from './localization.service.js'
