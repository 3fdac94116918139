// A TCP proxy in front of the emulator for one client, which a test can turn into a black hole: every
// byte in either direction is dropped and new connections hang, as when a host loses its route to
// DynamoDB (no reset, no answer — the worst case for a client, which only a timeout ends).
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: an endpoint URL for an SDK client. */
  readonly url: string;
  /** Drops everything from now on, on open connections and new ones. */
  blackhole(): void;
  /** Forwards again (connections dropped meanwhile stay dead: clients open new ones). */
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  let dropping = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (dropping) {
      client.pause();
      return;
    }
    const upstream = connect(Number(port), hostname);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (!dropping) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy did not listen');
  return {
    url: `http://127.0.0.1:${address.port}`,
    blackhole: () => {
      dropping = true;
    },
    restore: () => {
      dropping = false;
      // Connections that lost bytes are out of step: end them, clients reconnect.
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
