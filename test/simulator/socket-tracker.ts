// Remembers a server's raw sockets so stop() can end them all: upgraded WebSockets and keep-alive
// connections would otherwise hold server.close() open.
import type { Server, Socket } from 'node:net';

export function trackSockets(server: Server): { destroyAll(): void } {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    destroyAll() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
  };
}

const CLOSE_GRACE_MS = 2_000;

/**
 * Closes `server` after destroying its sockets. Waits for the close at most a short grace period:
 * a stop must never hang its caller, and every socket is already destroyed by then.
 */
export async function closeServer(server: Server, tracker: { destroyAll(): void }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLOSE_GRACE_MS);
  });
  tracker.destroyAll();
  await Promise.race([closed, grace]);
  clearTimeout(timer);
}
