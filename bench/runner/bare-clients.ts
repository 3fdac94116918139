// Child process of the runner benchmark: the bare-Baileys side. Unmodified Baileys clients with
// in-memory auth state (stock curve, no DynamoDB, no KMS), logging the same provisioned companions
// in that the runner restores, so both sides are measured the same way: one process per side, its
// RSS read from /proc by the parent, logins timed by the parent at the simulator.
//
// Protocol (IPC): → 'ready' (modules loaded, nothing else); ← 'load' → 'loaded' (auth states in
// memory); ← 'connect' → 'open' once every client has opened.
import { readFileSync } from 'node:fs';
import {
  type AuthenticationCreds,
  BufferJSON,
  type ConnectionState,
  makeWASocket,
  WA_CERT_DETAILS,
} from '@whiskeysockets/baileys';
import pino from 'pino';
import { memoryAuthState } from '#test/simulator';

export interface BareClientsFile {
  readonly preKeys: ReadonlyArray<{ readonly public: Buffer; readonly private: Buffer }>;
  readonly creds: readonly AuthenticationCreds[];
}

export type BareClientsRequest =
  /** `limit`: only the first clients of the file. */
  | { readonly type: 'load'; readonly file: string; readonly limit?: number }
  | {
      readonly type: 'connect';
      readonly concurrency: number;
      readonly wsUrl: string;
      readonly trustRoot: string;
    }
  /** Each pair's texts sent one after another from client `sender` (an index) to `to`. */
  | { readonly type: 'send'; readonly pairs: ReadonlyArray<{ sender: number; to: string; texts: string[] }> };

export type BareClientsReply =
  | { readonly type: 'ready' }
  | { readonly type: 'loaded'; readonly clients: number }
  | { readonly type: 'open'; readonly clients: number }
  | { readonly type: 'sent'; readonly messages: number }
  | { readonly type: 'error'; readonly message: string };

const send = (reply: BareClientsReply) => process.send?.(reply);
const silent = pino({ level: 'silent' });
let auths: ReturnType<typeof memoryAuthState>[] = [];
const sockets = new Map<number, ReturnType<typeof makeWASocket>>();

function load(file: string, limit?: number): void {
  const parsed = JSON.parse(readFileSync(file, 'utf8'), BufferJSON.reviver) as BareClientsFile;
  // Each companion owns copies of the shared pre-keys, as test/simulator/provisioning.ts makes them.
  auths = parsed.creds.slice(0, limit).map((creds) => {
    const keys = new Map<string, unknown>();
    for (const [index, pair] of parsed.preKeys.entries()) {
      keys.set(`pre-key/${index + 1}`, {
        public: Buffer.from(pair.public),
        private: Buffer.from(pair.private),
      });
    }
    return memoryAuthState(creds, keys);
  });
  send({ type: 'loaded', clients: auths.length });
}

/** One client, reconnecting unless logged out; resolves at its first open. */
function connect(index: number, wsUrl: string): Promise<void> {
  const auth = auths[index];
  if (!auth) return Promise.resolve();
  return new Promise((opened) => {
    const open = () => {
      const socket = makeWASocket({
        auth,
        waWebSocketUrl: wsUrl,
        logger: silent,
        markOnlineOnConnect: false,
      });
      sockets.set(index, socket);
      socket.ev.on('creds.update', (update) => Object.assign(auth.creds, update));
      socket.ev.on('connection.update', (update: Partial<ConnectionState>) => {
        if (update.connection === 'open') opened();
        if (update.connection === 'close') {
          const code = (update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)
            ?.output?.statusCode;
          if (code !== 401) setTimeout(open, 50);
        }
      });
    };
    open();
  });
}

async function connectAll(concurrency: number, wsUrl: string, trustRoot: string): Promise<void> {
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(trustRoot, 'base64');
  let next = 0;
  // A connect slot is held until the client opens, as the runner's MAX_CONCURRENT_CONNECTS does.
  await Promise.all(
    Array.from({ length: Math.min(concurrency, auths.length) }, async () => {
      while (next < auths.length) {
        await connect(next++, wsUrl);
      }
    }),
  );
  send({ type: 'open', clients: auths.length });
}

async function sendAll(pairs: Extract<BareClientsRequest, { type: 'send' }>['pairs']): Promise<void> {
  let messages = 0;
  await Promise.all(
    pairs.map(async ({ sender, to, texts }) => {
      const socket = sockets.get(sender);
      if (!socket) throw new Error(`no client ${sender}`);
      for (const text of texts) {
        await socket.sendMessage(to, { text });
        messages++;
      }
    }),
  );
  send({ type: 'sent', messages });
}

process.on('message', (request: BareClientsRequest) => {
  const failed = (error: unknown) => send({ type: 'error', message: String(error) });
  if (request.type === 'load') load(request.file, request.limit);
  if (request.type === 'connect')
    connectAll(request.concurrency, request.wsUrl, request.trustRoot).catch(failed);
  if (request.type === 'send') sendAll(request.pairs).catch(failed);
});
process.on('disconnect', () => process.exit(0));
// libsignal prints session records on routine turnover; they are noise here.
console.log = () => undefined;
console.info = () => undefined;
send({ type: 'ready' });
