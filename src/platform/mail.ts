/** One message: plain text, which every mail client shows as written. */
export interface MailMessage {
  to: string
  subject: string
  text: string
}

/** Sends mail through the SMTP server of `SMTP_URL`. */
export interface Mailer {
  send(message: MailMessage): Promise<void>
  close(): void
}

/**
 * Bounds on the SMTP conversation (nodemailer waits up to two minutes for a connection and ten for
 * a quiet socket by default): a mail server that does not answer holds no send for long.
 */
const CONNECTION_TIMEOUT_MS = 10_000
const SOCKET_TIMEOUT_MS = 30_000

/** `no-reply@` the public URL's host: mail from the address people see the site under. */
export function defaultSender(publicUrl: string | undefined): string {
  const host = publicUrl ? new URL(publicUrl).hostname : 'localhost'
  return `Ovasabi <no-reply@${host}>`
}

/**
 * A mailer on `url` (`smtp://user:pass@host:587`: STARTTLS when the server offers it;
 * `smtps://…:465`: TLS from the start), sending as `from`. Connections are pooled, so a burst of
 * mail does not open a connection each. nodemailer is loaded here, only when mail is configured:
 * every other process (a test, a CLI command) starts without it.
 */
export async function createMailer(url: string, from: string): Promise<Mailer> {
  const { default: nodemailer } = await import('nodemailer')
  const transport = nodemailer.createTransport(
    {
      url,
      pool: true,
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      greetingTimeout: CONNECTION_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
    },
    { from },
  )
  return {
    async send(message) {
      await transport.sendMail(message)
    },
    close: () => transport.close(),
  }
}
