// Library entry: one HTTP server carries the WebSocket endpoint, the admin API and the media host.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { createAdminApi } from './admin-api.ts';
import { node } from './binary.ts';
import { createServerIdentity, generateRootKeyPair, type KeyPairBytes } from './cert-chain.ts';
import { PhoneBook } from './phone-book.ts';
import { type DeviceSelector, SimulatorServer } from './server.ts';

export const WS_PATH = '/ws/chat';

export interface SimulatorOptions {
  readonly port?: number;
  readonly host?: string;
  readonly snapshotFile?: string;
  readonly rootKeyPair?: KeyPairBytes;
}

export interface SimulatorFaults {
  dropConnections(selector?: DeviceSelector): number;
  delayFrames(delayMs: number, jitterMs?: number): void;
  sendStreamError(code: number, selector?: DeviceSelector): number;
  refuseConnections(durationMs: number): void;
  reset(): void;
}

export interface Simulator {
  readonly wsUrl: string;
  readonly adminUrl: string;
  /** The root public key of the certificate chain, for WA_CERT_DETAILS.PUBLIC_KEY. */
  readonly rootPublicKey: Buffer<ArrayBuffer>;
  readonly phones: PhoneBook;
  readonly faults: SimulatorFaults;
  readonly server: SimulatorServer;
  stop(): Promise<void>;
}

// Clients pin the root key through one process-wide Baileys constant, so simulators started in one
// process share a root key unless told otherwise.
let processRootKeyPair: KeyPairBytes | undefined;

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  processRootKeyPair ??= generateRootKeyPair();
  const identity = createServerIdentity(options.rootKeyPair ?? processRootKeyPair);
  let baseUrl = '';
  const server = new SimulatorServer(identity, {
    mediaConnNode: () =>
      node('media_conn', { auth: 'sim', ttl: '3600' }, [node('host', { hostname: new URL(baseUrl).host })]),
  });
  const phones = new PhoneBook(server, () => wsUrl());
  const wsUrl = () => `${baseUrl.replace(/^http/, 'ws')}${WS_PATH}`;
  const adminApi = createAdminApi({
    server,
    phones,
    trust: () => ({
      rootPublicKey: Buffer.from(identity.rootKeyPair.public).toString('base64'),
      wsUrl: wsUrl(),
    }),
  });
  const http: Server = createServer((request, response) => void adminApi(request, response));
  const sockets = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  http.on('upgrade', (request, socket, head) => {
    if (!request.url?.startsWith(WS_PATH)) {
      socket.destroy();
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => server.accept(ws));
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  baseUrl = `http://${options.host ?? '127.0.0.1'}:${port}`;
  const faults: SimulatorFaults = {
    dropConnections: (selector) => server.dropConnections(selector),
    delayFrames: (delayMs, jitterMs) => server.faults.delayFrames(delayMs, jitterMs),
    sendStreamError: (code, selector) => server.sendStreamError(code, selector),
    refuseConnections: (durationMs) => server.faults.refuseConnections(durationMs),
    reset: () => server.faults.reset(),
  };
  return {
    wsUrl: wsUrl(),
    adminUrl: baseUrl,
    rootPublicKey: Buffer.from(identity.rootKeyPair.public),
    phones,
    faults,
    server,
    async stop() {
      await phones.stopAll();
      server.closeAll();
      sockets.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
