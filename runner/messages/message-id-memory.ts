import type { Message } from '#shared/domain/message.ts';
import type { MessageRepository } from '#shared/ports.ts';

type Resolved = { messageId: string; direction: Message['direction'] };

const DEFAULT_CAPACITY = 50_000;

/**
 * The message repository, remembering the WhatsApp ids of the messages this runner stored or read: the
 * receipts of a send (delivered, read) resolve without a read. The mapping never changes once
 * stored, so nothing goes stale; the oldest are forgotten beyond `capacity` and then cost one read.
 */
export class MessageIdMemory implements MessageRepository {
  private readonly recent = new Map<string, Resolved>();

  constructor(
    private readonly inner: MessageRepository,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {}

  async put(message: Message, options?: Parameters<MessageRepository['put']>[1]): Promise<boolean> {
    const stored = await this.inner.put(message, options);
    if (stored) {
      this.remember(message.tenantId, message.channelId, message.waMessageId, {
        messageId: message.id,
        direction: message.direction,
      });
    }
    return stored;
  }

  async resolveWaMessageId(tenantId: string, channelId: string, waMessageId: string) {
    const key = keyOf(tenantId, channelId, waMessageId);
    const known = this.recent.get(key);
    if (known) return known;
    const resolved = await this.inner.resolveWaMessageId(tenantId, channelId, waMessageId);
    if (resolved) this.remember(tenantId, channelId, waMessageId, resolved);
    return resolved;
  }

  /** A message read (a send's record, which the API wrote) is remembered too: its receipts will come. */
  async get(tenantId: string, channelId: string, messageId: string): Promise<Message | null> {
    const message = await this.inner.get(tenantId, channelId, messageId);
    if (message) {
      this.remember(tenantId, channelId, message.waMessageId, {
        messageId: message.id,
        direction: message.direction,
      });
    }
    return message;
  }

  readonly findByWaMessageId: MessageRepository['findByWaMessageId'] = (...args) =>
    this.inner.findByWaMessageId(...args);
  readonly advanceStatus: MessageRepository['advanceStatus'] = (...args) => this.inner.advanceStatus(...args);
  readonly list: MessageRepository['list'] = (...args) => this.inner.list(...args);
  readonly putQueuedOnce: MessageRepository['putQueuedOnce'] = (...args) => this.inner.putQueuedOnce(...args);
  readonly getSendClaim: MessageRepository['getSendClaim'] = (...args) => this.inner.getSendClaim(...args);
  readonly failQueuedAndReleaseClaim: MessageRepository['failQueuedAndReleaseClaim'] = (...args) =>
    this.inner.failQueuedAndReleaseClaim(...args);

  private remember(tenantId: string, channelId: string, waMessageId: string, resolved: Resolved): void {
    const key = keyOf(tenantId, channelId, waMessageId);
    this.recent.delete(key);
    this.recent.set(key, resolved);
    if (this.recent.size > this.capacity) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}

function keyOf(tenantId: string, channelId: string, waMessageId: string): string {
  return `${tenantId}/${channelId}/${waMessageId}`;
}
