/**
 * Connections whose client stopped reading an answer are closed. Once an answer is being sent, a timer looks at
 * the connection: while bytes wait to be written (the socket's `writableLength` above 0, or the answer's stream
 * needs a drain) and neither they nor the bytes written change for `stallMs`, the client has stopped reading
 * (it holds the connection open and its receive window shut), and the connection is destroyed. That frees the
 * answer (a batch export's whole answer, or a streamed export's read-ahead and its backend calls), which would
 * otherwise be held as long as the client keeps the connection: a caller could pin item data in memory at will.
 * Waiting for the backend, or for a throttled backend between NDJSON lines, is not a stall (nothing waits to be
 * written); Node's own timeouts (requestTimeout, keepAliveTimeout) are left as they are.
 */
import type { FastifyInstance } from 'fastify'

/**
 * Adds the check to every answer of `fastify`: a connection whose waiting bytes have not moved for `stallMs`
 * (milliseconds; 0 turns the check off) is destroyed, logged as a warning with the request's id.
 */
export function closeStalledReaders (fastify: FastifyInstance, stallMs: number): void {
  if (stallMs <= 0) return
  const every = Math.max(100, Math.min(10_000, Math.floor(stallMs / 4)))
  fastify.addHook('onSend', async (request, reply, payload) => {
    const socket = request.raw.socket as typeof request.raw.socket | null
    if (socket === null || socket.destroyed) return payload
    let seen = ''
    let since = Date.now()
    const timer = setInterval(() => {
      if (socket.destroyed) { clearInterval(timer); return }
      const waiting = socket.writableLength > 0 || reply.raw.writableNeedDrain
      const now = `${socket.bytesWritten}/${socket.writableLength}/${reply.raw.writableLength}`
      if (!waiting || now !== seen) {
        seen = now
        since = Date.now()
        return
      }
      if (Date.now() - since < stallMs) return
      clearInterval(timer)
      request.log.warn({ stalledMs: Date.now() - since, bytesWritten: socket.bytesWritten },
        'the client stopped reading the answer: connection closed')
      socket.destroy()
    }, every)
    timer.unref()
    reply.raw.once('close', () => { clearInterval(timer) })
    return payload
  })
}
