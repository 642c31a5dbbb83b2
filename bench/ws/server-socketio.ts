// The way Socket.IO users build live cursors: every cursor is emitted to the room as it arrives.
import { createServer } from 'node:http'
import { Server } from 'socket.io'

const http = createServer()
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false })
io.on('connection', (socket) => {
  void socket.join('campaign')
  socket.on('cursor', (x: number, y: number) => io.to('campaign').emit('cursor', [socket.id, x, y]))
})
http.listen(0, '127.0.0.1', () => {
  const addr = http.address()
  process.stdout.write(`${JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`)
})
// Exit on SIGTERM through process.exit, so `--cpu-prof` (BENCH_NODE_ARGS) writes its profile.
process.once('SIGTERM', () => process.exit(0))
