// Peer (b), the ceiling: a bare Fastify server whose route parses the JSON body and returns a
// constant. Nothing else (no logger, no auth, no database). PORT from the environment.
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/health', async () => ({ status: 'healthy' }))
app.post('/track', async () => ({ status: 'success', result: { recorded: true } }))

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
const stop = () => void app.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
