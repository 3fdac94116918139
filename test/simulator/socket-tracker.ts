// Remembers a server's raw sockets so stop() can end them all: upgraded WebSockets and keep-alive
// connections would otherwise hold server.close() open.
import type { Server } from 'node:net';
import type { Socket } from 'node:net';

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

/** Closes `server` after destroying its sockets. */
export async function closeServer(server: Server, tracker: { destroyAll(): void }): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  tracker.destroyAll();
  await closed;
}
