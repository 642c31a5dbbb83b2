import { render } from 'preact'
import '../shared/base.css'
import './admin.css'
import { Console } from './Console.js'
import { ResetPassword, takeResetToken } from './ResetPassword.js'
import { RESET_PASSWORD_PATH } from './route.js'

// A reset link's page comes before the console's sign-in gate: whoever opens it has no password
// that works, and a sign-in this tab holds (of anyone) has nothing to do with it.
const app =
  location.pathname === RESET_PASSWORD_PATH || location.pathname === `${RESET_PASSWORD_PATH}/` ? (
    <ResetPassword token={takeResetToken()} />
  ) : (
    <Console />
  )
render(app, document.getElementById('app')!)
