import type { WAMessage } from '@whiskeysockets/baileys';
import type { ChannelStatus } from '#shared/domain/channel.ts';
import type { MessageStatusUpdate, OwnAccount, SessionObserver } from './channel-session.ts';
import { RecordRefusedError } from './inbox.ts';

/**
 * A channel's observer behind a gate the runner closes when it deletes the channel. From then on
 * nothing the session sees reaches the platform: a received message is refused (no receipt goes
 * out; nothing of it is stored for the deleted channel), and statuses, QR and pairing codes and the
 * receipts of sent messages are dropped. `idle()` resolves once what got through before the gate
 * closed has ended (a record under way landed or failed), so a deletion can be complete with
 * nothing of the channel written after it.
 */
export class ObserverGate implements SessionObserver {
  private closed: boolean;
  private readonly underWay = new Set<Promise<unknown>>();

  private onStatusReached: ((status: ChannelStatus) => void) | undefined;

  constructor(
    /** The platform's observer; none for a session opened only to log a deleted channel out. */
    private readonly inner: SessionObserver | undefined,
  ) {
    this.closed = inner === undefined;
  }

  /** Tells `listener` of every status the session reaches from now on, whether or not the gate is closed. */
  watchStatus(listener: (status: ChannelStatus) => void): void {
    this.onStatusReached = listener;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
  }

  /** Resolves once nothing that got through the gate is still under way. */
  async idle(): Promise<void> {
    while (this.underWay.size > 0) await Promise.allSettled([...this.underWay]);
  }

  onStatus(change: {
    from: ChannelStatus;
    to: ChannelStatus;
    reason?: string;
    me?: OwnAccount;
  }): Promise<void> {
    this.onStatusReached?.(change.to);
    return this.pass((inner) => inner.onStatus(change));
  }

  onQr(qr: string, expiresAt: Date): Promise<void> {
    return this.pass((inner) => inner.onQr(qr, expiresAt));
  }

  onPairingCode(code: string, phoneNumber: string, expiresAt: Date): Promise<void> {
    return this.pass((inner) => inner.onPairingCode(code, phoneNumber, expiresAt));
  }

  onMessageReceived(message: WAMessage, signal: AbortSignal): Promise<void> {
    if (this.closed || !this.inner) return Promise.reject(new RecordRefusedError('the channel is deleted'));
    return this.track(this.inner.onMessageReceived(message, signal));
  }

  onMessageStatus(updates: MessageStatusUpdate[]): Promise<void> {
    return this.pass((inner) => inner.onMessageStatus(updates));
  }

  private pass(call: (inner: SessionObserver) => Promise<void>): Promise<void> {
    if (this.closed || !this.inner) return Promise.resolve();
    return this.track(call(this.inner));
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.underWay.add(work);
    const done = () => this.underWay.delete(work);
    work.then(done, done);
    return work;
  }
}
