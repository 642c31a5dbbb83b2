import { AppError } from '../platform/http/errors.js'

export class UpgradeRequiredError extends AppError {
  constructor() {
    super(426, 'UPGRADE_REQUIRED', 'This endpoint speaks WebSocket: send an Upgrade request', {
      headers: { upgrade: 'websocket' },
    })
  }
}
