// Library entry: one HTTP server carries the WebSocket endpoint, the admin API and the media host.
import { createServer, type Server } from 'node:http';
import { Agent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { createAdminApi } from './admin-api.ts';
import { createServerIdentity, generateRootKeyPair, type KeyPairBytes } from './cert-chain.ts';
import { MediaServer, MediaStore } from './media-server.ts';
import { PhoneBook } from './phone-book.ts';
import { type DeviceSelector, SimulatorServer } from './server.ts';
import { readSnapshot, restoreState, rootKeyPairOf, takeSnapshot, writeSnapshot } from './snapshot.ts';
import { closeServer, trackSockets } from './socket-tracker.ts';

export const WS_PATH = '/ws/chat';

export interface SimulatorOptions {
  readonly port?: number;
  readonly host?: string;
  readonly snapshotFile?: string;
  readonly rootKeyPair?: KeyPairBytes;
  /** How often to write the snapshot file while running; it is also written on stop. */
  readonly snapshotIntervalMs?: number;
}

export interface SimulatorFaults {
  dropConnections(selector?: DeviceSelector): number;
  delayFrames(delayMs: number, jitterMs?: number): void;
  /** Cut the next `count` media downloads (every one without a count) after `afterBytes` bytes. */
  cutMediaDownloads(mode: 'reset' | 'stall', afterBytes: number, count?: number): void;
  sendStreamError(code: number, selector?: DeviceSelector): number;
  refuseConnections(durationMs: number): void;
  reset(): void;
}

export interface Simulator {
  readonly wsUrl: string;
  readonly adminUrl: string;
  /** The root public key of the certificate chain, for WA_CERT_DETAILS.PUBLIC_KEY. */
  readonly rootPublicKey: Buffer<ArrayBuffer>;
  /** PEM of the media host's self-signed certificate; trust it with `mediaAgent()`. */
  readonly mediaCaPem: string;
  /** An https.Agent trusting the media host, for Baileys' `fetchAgent` option (media upload). */
  mediaAgent(): Agent;
  readonly phones: PhoneBook;
  readonly faults: SimulatorFaults;
  readonly server: SimulatorServer;
  readonly media: MediaServer;
  /** Writes the snapshot file now (no-op without `snapshotFile`). */
  saveSnapshot(): Promise<void>;
  stop(): Promise<void>;
}

// Clients pin the root key through one process-wide Baileys constant, so simulators started in one
// process share a root key unless told otherwise.
let processRootKeyPair: KeyPairBytes | undefined;

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const snapshot = options.snapshotFile ? await readSnapshot(options.snapshotFile) : undefined;
  processRootKeyPair ??= generateRootKeyPair();
  const identity = createServerIdentity(
    snapshot ? rootKeyPairOf(snapshot) : (options.rootKeyPair ?? processRootKeyPair),
  );
  const host = options.host ?? '127.0.0.1';
  let baseUrl = '';
  const media = new MediaServer(new MediaStore(), () => baseUrl);
  await media.listen(host);
  const mediaAgent = new Agent({ ca: media.certificate.certPem, keepAlive: true });
  const server = new SimulatorServer(identity, media);
  media.faults = server.faults;
  const phones = new PhoneBook(server, () => wsUrl(), mediaAgent);
  if (snapshot)
    await restoreState(snapshot, { accounts: server.accounts, queue: server.queue, media: media.store });
  const wsUrl = () => `${baseUrl.replace(/^http/, 'ws')}${WS_PATH}`;
  const adminApi = createAdminApi({
    server,
    phones,
    trust: () => ({
      rootPublicKey: Buffer.from(identity.rootKeyPair.public).toString('base64'),
      wsUrl: wsUrl(),
      mediaCaPem: media.certificate.certPem,
    }),
  });
  const http: Server = createServer((request, response) => {
    if (!media.serveDownload(request, response)) void adminApi(request, response);
  });
  const httpSockets = trackSockets(http);
  const sockets = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  http.on('upgrade', (request, socket, head) => {
    if (!request.url?.startsWith(WS_PATH)) {
      socket.destroy();
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => server.accept(ws));
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, host, resolve));
  const { port } = http.address() as AddressInfo;
  baseUrl = `http://${host}:${port}`;
  if (snapshot) await Promise.all(snapshot.phones.map((saved) => phones.restore(saved)));
  const snapshotFile = options.snapshotFile;
  const saveSnapshot = async () => {
    if (!snapshotFile) return;
    await writeSnapshot(
      snapshotFile,
      takeSnapshot({
        rootKeyPair: identity.rootKeyPair,
        accounts: server.accounts,
        queue: server.queue,
        media: media.store,
        phones: () => phones.list().map((phone) => phone.toSnapshot()),
      }),
    );
  };
  let saving: Promise<void> = Promise.resolve();
  const snapshotTimer = snapshotFile
    ? setInterval(() => {
        saving = saving.then(saveSnapshot).catch(() => undefined);
      }, options.snapshotIntervalMs ?? 5_000).unref()
    : undefined;
  const faults: SimulatorFaults = {
    dropConnections: (selector) => server.dropConnections(selector),
    delayFrames: (delayMs, jitterMs) => server.faults.delayFrames(delayMs, jitterMs),
    cutMediaDownloads: (mode, afterBytes, count) => server.faults.cutMediaDownloads(mode, afterBytes, count),
    sendStreamError: (code, selector) => server.sendStreamError(code, selector),
    refuseConnections: (durationMs) => server.faults.refuseConnections(durationMs),
    reset: () => server.faults.reset(),
  };
  return {
    wsUrl: wsUrl(),
    adminUrl: baseUrl,
    rootPublicKey: Buffer.from(identity.rootKeyPair.public),
    mediaCaPem: media.certificate.certPem,
    mediaAgent: () => mediaAgent,
    phones,
    faults,
    server,
    media,
    saveSnapshot: () => (saving = saving.then(saveSnapshot)),
    async stop() {
      clearInterval(snapshotTimer);
      await saving.catch(() => undefined);
      await saveSnapshot();
      await phones.stopAll();
      server.closeAll();
      sockets.close();
      await closeServer(http, httpSockets);
      await media.close();
      mediaAgent.destroy();
    },
  };
}
