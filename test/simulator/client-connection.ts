// One client WebSocket: Noise handshake, then encrypted binary stanzas in both directions.
import type { BinaryNode, proto } from '@whiskeysockets/baileys';
import { decodeBinaryNode, encodeBinaryNode } from '@whiskeysockets/baileys';
import type { WebSocket } from 'ws';
import type { Account } from './accounts.ts';
import { node } from './binary.ts';
import type { ServerIdentity } from './cert-chain.ts';
import type { FaultState } from './faults.ts';
import { FrameReader, frame, NoiseServerHandshake, type NoiseTransport } from './noise-server.ts';

export interface ConnectionHandlers {
  onPayload(connection: ClientConnection, payload: proto.ClientPayload): void;
  onStanza(connection: ClientConnection, stanza: BinaryNode): void;
  onClose(connection: ClientConnection): void;
}

let connectionCounter = 0;

export class ClientConnection {
  readonly id = ++connectionCounter;
  /** Set once the client logged in as an existing device. */
  account?: Account;
  deviceId?: number;
  clientStaticKey?: Buffer;
  pushName?: string;
  closed = false;
  private helloAnswered = false;
  private readonly reader = new FrameReader();
  private handshake?: NoiseServerHandshake;
  private transport?: NoiseTransport;
  private sendChain: Promise<void> = Promise.resolve();
  private receiveChain: Promise<void> = Promise.resolve();
  private readonly pendingQueries = new Map<string, (response: BinaryNode) => void>();
  private queryCounter = 0;

  constructor(
    private readonly socket: WebSocket,
    identity: ServerIdentity,
    private readonly faults: FaultState,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.handshake = new NoiseServerHandshake(identity);
    socket.on('message', (data: Buffer) => this.receive(data));
    socket.on('close', () => this.markClosed());
    socket.on('error', () => this.markClosed());
  }

  get loggedIn(): boolean {
    return this.account !== undefined;
  }

  send(stanza: BinaryNode): void {
    if (this.closed || !this.transport) return;
    const transport = this.transport;
    const delayMs = this.faults.nextFrameDelayMs();
    const write = () => {
      if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
      this.socket.send(frame(transport.seal(encodeBinaryNode(stanza))));
    };
    if (delayMs <= 0) {
      this.sendChain = this.sendChain.then(write);
      return;
    }
    // Delays chain so that jitter never reorders frames, as on a real TCP stream.
    this.sendChain = this.sendChain.then(() =>
      new Promise((resolve) => setTimeout(resolve, delayMs)).then(write),
    );
  }

  /** Sends a server-initiated IQ and resolves with the client's answer. */
  query(stanza: BinaryNode, timeoutMs = 30_000): Promise<BinaryNode> {
    const id = stanza.attrs.id ?? `srv-${this.id}-${++this.queryCounter}`;
    stanza.attrs.id = id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingQueries.delete(id);
        reject(new Error(`client did not answer query ${id}`));
      }, timeoutMs);
      this.pendingQueries.set(id, (response) => {
        clearTimeout(timer);
        resolve(response);
      });
      this.send(stanza);
    });
  }

  sendStreamError(code: number, child?: BinaryNode): void {
    this.send(node('stream:error', { code: String(code) }, child ? [child] : undefined));
    this.closeAfterSends();
  }

  sendFailure(reason: number): void {
    this.send(node('failure', { reason: String(reason), location: 'sim' }));
    this.closeAfterSends();
  }

  /** Closes once everything queued has been written, so the client reads the last stanza. */
  closeAfterSends(): void {
    void this.sendChain.then(() => this.close());
  }

  close(): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close();
    }
    this.markClosed();
  }

  /** Cuts the TCP connection without a WebSocket close frame (a network drop). */
  drop(): void {
    this.socket.terminate();
    this.markClosed();
  }

  private receive(data: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.reader.push(data);
    } catch {
      this.drop();
      return;
    }
    for (const received of frames) {
      // Stanza decoding is asynchronous; chaining keeps the client's order.
      this.receiveChain = this.receiveChain.then(() => this.handleFrame(received)).catch(() => this.drop());
    }
  }

  private async handleFrame(received: Buffer): Promise<void> {
    if (this.closed) return;
    if (this.transport) {
      const stanza = await decodeBinaryNode(this.transport.open(received));
      this.dispatch(stanza);
      return;
    }
    if (!this.handshake) return;
    if (!this.helloAnswered) {
      const { serverHello } = this.handshake.respondToHello(received);
      this.helloAnswered = true;
      this.socket.send(frame(serverHello));
      return;
    }
    const { clientStaticKey, payload, transport } = this.handshake.acceptFinish(received);
    this.handshake = undefined;
    this.clientStaticKey = clientStaticKey;
    this.transport = transport;
    this.handlers.onPayload(this, payload);
  }

  private dispatch(stanza: BinaryNode): void {
    const id = stanza.attrs.id;
    if (stanza.tag === 'iq' && id && (stanza.attrs.type === 'result' || stanza.attrs.type === 'error')) {
      const pending = this.pendingQueries.get(id);
      if (pending) {
        this.pendingQueries.delete(id);
        pending(stanza);
        return;
      }
    }
    this.handlers.onStanza(this, stanza);
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onClose(this);
  }
}
