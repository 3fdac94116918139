/**
 * The sends a shard worker has under way, by message. A second send command for a message (the API
 * re-issued it after its request was re-executed, past SQS's five-minute deduplication) can reach
 * the worker in the same batch as the first; the consumer starts it as soon as the first's stanza is
 * written, before the record says `sent`, so on its own it would read `queued` and send the message
 * again (the recipient's phone drops the copy by its WhatsApp id, but it goes out, and its server ack
 * takes the first's place). Here it waits until the first send has ended — recorded `sent` or
 * `failed`, or thrown — and only then reads the record.
 */
export class SendsInProgress {
  private readonly ends = new Map<string, Promise<void>>();

  /** Runs `send` once no other send of the same message is under way in this worker. */
  async exclusively<T>(
    message: { tenantId: string; channelId: string; messageId: string },
    send: () => Promise<T>,
  ): Promise<T> {
    const key = `${message.tenantId}/${message.channelId}/${message.messageId}`;
    for (let under = this.ends.get(key); under; under = this.ends.get(key)) await under;
    let end: () => void = () => undefined;
    this.ends.set(
      key,
      new Promise<void>((resolve) => {
        end = resolve;
      }),
    );
    try {
      return await send();
    } finally {
      this.ends.delete(key);
      end();
    }
  }
}
