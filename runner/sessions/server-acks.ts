import type { BinaryNode } from '@whiskeysockets/baileys';

export class SendRejectedError extends Error {
  constructor(
    readonly waMessageId: string,
    readonly errorCode: string,
  ) {
    super(`WhatsApp refused message ${waMessageId} (error ${errorCode})`);
    this.name = 'SendRejectedError';
  }
}

export class AckTimeoutError extends Error {
  constructor(readonly waMessageId: string) {
    super(`WhatsApp did not acknowledge message ${waMessageId} in time`);
    this.name = 'AckTimeoutError';
  }
}

/**
 * Baileys resolves `sendMessage` once the stanza is written, not when the server has it. The server
 * answers each message with `<ack class="message" id=…>` (with an `error` attribute when it refuses);
 * this waits for that answer, which is what "sent" means for us.
 */
export class ServerAcks {
  private readonly waiting = new Map<
    string,
    { resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();

  onAck(node: BinaryNode): void {
    const id = node.attrs.id;
    const entry = id ? this.waiting.get(id) : undefined;
    if (!id || !entry) return;
    this.waiting.delete(id);
    clearTimeout(entry.timer);
    if (node.attrs.error) entry.reject(new SendRejectedError(id, node.attrs.error));
    else entry.resolve();
  }

  /** Call before sending, so an ack that arrives before `sendMessage` returns is not missed. */
  expect(waMessageId: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(waMessageId);
        reject(new AckTimeoutError(waMessageId));
      }, timeoutMs);
      this.waiting.set(waMessageId, { resolve, reject, timer });
    });
  }

  /** The socket closed: every pending send is unknown, so each is retried by its command. */
  failAll(reason: Error): void {
    for (const [id, entry] of this.waiting) {
      clearTimeout(entry.timer);
      entry.reject(reason);
      this.waiting.delete(id);
    }
  }
}
