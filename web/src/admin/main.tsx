import { render } from 'preact'
import '../shared/base.css'
import './admin.css'
import { Console } from './Console.js'
import { ResetPassword } from './ResetPassword.js'
import { isAt, RESET_PASSWORD_PATH, takeLinkToken, VERIFY_EMAIL_PATH } from './route.js'
import { VerifyEmail } from './VerifyEmail.js'

// A mailed link's page comes before the console's sign-in gate. A reset link: whoever opens it has
// no password that works, and a sign-in this tab holds (of anyone) has nothing to do with it. An
// address-confirmation link: it may be opened in any browser, signed in or not.
const app = isAt(RESET_PASSWORD_PATH) ? (
  <ResetPassword token={takeLinkToken()} />
) : isAt(VERIFY_EMAIL_PATH) ? (
  <VerifyEmail token={takeLinkToken()} />
) : (
  <Console />
)
render(app, document.getElementById('app')!)
