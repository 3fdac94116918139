// What a message's status looks like in a conversation, as WhatsApp users know it: a clock while
// queued, one tick when sent, two when delivered, two blue when read, a warning with the reason when
// it failed; a received message carries none. Pure, so a unit test holds the mapping.
import type { MessageKey } from './i18n/dictionary.ts';

export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'read' | 'failed' | 'received';

export interface StatusTicks {
  /** The CSS modifier: `tick--read` is the blue pair. */
  readonly tone: 'pending' | 'sent' | 'delivered' | 'read' | 'failed' | 'none';
  /** What is drawn (hidden from screen readers, which get `label`). */
  readonly symbol: string;
  /** The status in words. */
  readonly label: MessageKey;
  /** Why it failed, as the API said (`code: message`), for a failed message. */
  readonly reason: string | null;
}

export interface TickSource {
  readonly direction: 'outbound' | 'inbound';
  readonly status: MessageStatus;
  readonly error?: { readonly code: string; readonly message: string } | undefined;
}

export function statusTicks(message: TickSource): StatusTicks {
  if (message.direction === 'inbound' || message.status === 'received')
    return { tone: 'none', symbol: '', label: 'message.status.received', reason: null };
  switch (message.status) {
    case 'queued':
      return { tone: 'pending', symbol: '🕓', label: 'message.status.queued', reason: null };
    case 'sent':
      return { tone: 'sent', symbol: '✓', label: 'message.status.sent', reason: null };
    case 'delivered':
      return { tone: 'delivered', symbol: '✓✓', label: 'message.status.delivered', reason: null };
    case 'read':
      return { tone: 'read', symbol: '✓✓', label: 'message.status.read', reason: null };
    case 'failed':
      return {
        tone: 'failed',
        symbol: '!',
        label: 'message.status.failed',
        reason: message.error ? `${message.error.code}: ${message.error.message}` : null,
      };
  }
}
