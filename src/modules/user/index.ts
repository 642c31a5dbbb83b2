export { registerUserActions as registerActions } from './user.actions.js'
export { userManifest as manifest } from './user.manifest.js'
export { userRoutes as routes } from './user.routes.js'
export { type UserService, createUserService } from './user.service.js'
