import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Runner } from '#runner/runner.ts';
import type { Channel } from '#shared/domain/channel.ts';
import { StoreRejectedError } from '#shared/domain/errors.ts';
import type { Message } from '#shared/domain/message.ts';
import type { MediaStore, MessageRepository } from '#shared/ports.ts';
import { deviceKey, type Simulator, startSimulator, type VirtualPhone } from '#test/simulator';
import { runnerPlatform, until } from './support/runner-harness.ts';

const CLINIC = '5511911130001';
const PATIENT = '5511922240001';
const PATIENT_NAME = 'Maria Aparecida Quintela';
const OUTAGE_MS = 30_000;

/**
 * `target` with `methods` failing while `state.down` (an AWS outage), waiting while `state.held`, or
 * refusing for good the calls `state.refuses` (a store refusing what a write would hold).
 */
function faulty<T extends object>(target: T, ...methods: (keyof T)[]) {
  const state = {
    down: false,
    attempts: 0,
    held: undefined as Promise<void> | undefined,
    refuses: (_args: unknown[]) => false,
  };
  const wrapped: T = Object.create(
    target,
    Object.fromEntries(
      methods.map((method) => {
        const original = target[method] as (...args: unknown[]) => Promise<unknown>;
        const value = async (...args: unknown[]) => {
          state.attempts++;
          await state.held;
          if (state.down) throw new Error('ServiceUnavailable: the emulator is down for this test');
          if (state.refuses(args)) throw new StoreRejectedError('the store', new Error('refused'));
          return original.apply(target, args);
        };
        return [method, { value }];
      }),
    ),
  );
  return { wrapped, state };
}

describe('received messages are recorded before WhatsApp hears "delivered"', () => {
  let simulator: Simulator;
  let world: Awaited<ReturnType<typeof runnerPlatform>>;
  let channel: Channel;
  let patient: VirtualPhone;
  let messages: ReturnType<typeof faulty<MessageRepository>>;
  let media: ReturnType<typeof faulty<MediaStore>>;
  let runner: Runner;

  beforeEach(async () => {
    simulator = await startSimulator();
    world = await runnerPlatform(simulator);
    // The clinic's own phone downloads no file: the runner is the media host's only client.
    const clinicPhone = await simulator.phones.create(CLINIC, { keepsMedia: false });
    patient = await simulator.phones.create(PATIENT, { pushName: PATIENT_NAME });
    channel = await world.newChannel('Recepção');
    messages = faulty(world.platform.messages, 'put');
    media = faulty(world.media, 'put', 'putStream');
    runner = await world.startRunner('runner-a', {
      messages: messages.wrapped,
      media: media.wrapped,
      sessionTuning: {
        backoff: { baseMs: 200, maxMs: 1_000 },
        recordRetry: { baseMs: 200, maxMs: 2_000 },
      },
    });
    await world.pairByQr(channel, clinicPhone);
  });
  afterEach(async () => {
    await world.stopAll();
    await simulator.stop();
  });

  /** Stanzas WhatsApp still holds for the runner's device: neither acked nor answered by a receipt. */
  const unacknowledged = () =>
    simulator.server.queue
      .pending(deviceKey(CLINIC, 1))
      .filter((stanza) => stanza.tag === 'message')
      .map((stanza) => stanza.attrs.id);

  const recorded = () => world.receivedMessages(channel);

  /** The one `message.received` event published for a recorded message. */
  const eventOf = (message: Message | undefined) => {
    const events = world.events
      .of('message.received', channel.id)
      .filter((e) => e.data.messageId === message?.id);
    expect(new Set(events.map((event) => event.id)).size).toBe(1);
    return events[0];
  };

  /** Each id recorded exactly once, with exactly one distinct event, and nothing else recorded. */
  async function expectEachOnce(waMessageIds: string[]): Promise<Message[]> {
    const stored = await until(async () => {
      const all = await recorded();
      return waMessageIds.every((id) => all.some((message) => message.waMessageId === id)) ? all : undefined;
    }, `all ${waMessageIds.length} messages recorded`);
    expect(stored.map((message) => message.waMessageId).sort()).toEqual([...waMessageIds].sort());
    const events = await until(() => {
      const received = world.events.of('message.received', channel.id);
      return stored.every((message) => received.some((event) => event.data.messageId === message.id))
        ? received
        : undefined;
    }, 'an event for every recorded message');
    for (const message of stored) {
      const ids = new Set(
        events.filter((event) => event.data.messageId === message.id).map((event) => event.id),
      );
      expect(ids.size).toBe(1);
    }
    expect(new Set(events.map((event) => event.data.messageId)).size).toBe(stored.length);
    return stored;
  }

  it('holds the receipt while the record is being written and sends it once it is durable', async () => {
    let release = () => {};
    messages.state.held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const sent = await patient.sendText(CLINIC, 'Posso remarcar para sexta?');
    await until(() => messages.state.attempts > 0, 'the record to be under way');
    // The runner decrypted the message and is writing it: WhatsApp must still be waiting for it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(unacknowledged()).toEqual([sent.id]);
    expect(await recorded()).toEqual([]);

    release();
    const [message] = await expectEachOnce([sent.id]);
    await until(() => unacknowledged().length === 0 || undefined, 'the receipt once recorded');
    // The event as the contract shapes it: the text under `text`, the patient named by push name;
    // the record keeps the text itself and the same contact.
    expect(eventOf(message)?.data).toEqual({
      messageId: message?.id,
      from: { phoneNumber: `+${PATIENT}`, lid: expect.stringMatching(/@lid$/), name: PATIENT_NAME },
      timestamp: expect.any(String),
      type: 'text',
      content: { text: { body: 'Posso remarcar para sexta?' } },
    });
    expect(message?.content).toEqual({ body: 'Posso remarcar para sexta?' });
    expect(message?.contact).toEqual(eventOf(message)?.data.from);
  });

  it('loses nothing while DynamoDB fails for 30 s, even across a reconnect: WhatsApp redelivers what was not acknowledged', async () => {
    const before = [];
    for (let n = 0; n < 3; n++) before.push(await patient.sendText(CLINIC, `antes ${n}`));
    await expectEachOnce(before.map((message) => message.id));

    messages.state.down = true;
    const during: Awaited<ReturnType<VirtualPhone['sendText']>>[] = [];
    for (let n = 0; n < 8; n++) {
      during.push(await patient.sendText(CLINIC, `durante ${n}`));
      if (n === 3) {
        await until(() => messages.state.attempts > 8 || undefined, 'records failing');
        // The connection drops in the middle of the outage: what the runner held is redelivered.
        simulator.faults.dropConnections({ phoneNumber: CLINIC, deviceId: 1 });
      }
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 10));
    }
    await until(
      () => (during.every((message) => unacknowledged().includes(message.id)) ? true : undefined),
      'every message of the outage still owed by WhatsApp',
    );
    expect(await recorded()).toHaveLength(before.length);
    expect(runner.health().counters.InboundRecordRetries).toBeGreaterThan(8);
    messages.state.down = false;

    await expectEachOnce([...before, ...during].map((message) => message.id));
    await until(() => unacknowledged().length === 0 || undefined, 'every receipt once recorded');
  }, 120_000);

  it('loses no media while S3 fails for 30 s: each file is stored once the store is back', async () => {
    const photos = [0, 1, 2].map((n) =>
      Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(30_000 + n, n)]),
    );
    media.state.down = true;
    const sent: Awaited<ReturnType<VirtualPhone['sendMedia']>>[] = [];
    for (const [n, photo] of photos.entries()) {
      sent.push(
        await patient.sendMedia(CLINIC, {
          kind: 'image',
          data: photo,
          mimetype: 'image/jpeg',
          caption: `exame ${n}`,
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 3));
    }
    expect(media.state.attempts).toBeGreaterThan(3);
    expect(unacknowledged().sort()).toEqual(sent.map((message) => message.id).sort());
    expect(await recorded()).toEqual([]);
    media.state.down = false;

    const stored = await expectEachOnce(sent.map((message) => message.id));
    // Each file was downloaded once: every upload attempt after the first read it from the spool.
    expect(simulator.media.downloads.map((download) => download.outcome)).toEqual([
      'complete',
      'complete',
      'complete',
    ]);
    for (const [n, photo] of photos.entries()) {
      const message = stored.find((candidate) => candidate.waMessageId === sent[n]?.id);
      const image = {
        mediaId: expect.stringMatching(/^med_/),
        mimeType: 'image/jpeg',
        sha256: createHash('sha256').update(photo).digest('hex'),
        size: photo.length,
        fileName: null,
        caption: `exame ${n}`,
      };
      expect(message?.content).toEqual(image);
      expect(eventOf(message)?.data).toMatchObject({ type: 'image', content: { image: message?.content } });
      // No URL is kept with the event: it is presigned when the event leaves (withMediaLinks).
      expect(JSON.stringify(eventOf(message))).not.toContain('http');
      const bytes = await world.media.get(channel.tenantId, message?.content.mediaId as string);
      expect(bytes?.data.equals(photo)).toBe(true);
    }
  }, 120_000);

  it('stores a photo once while its record fails in DynamoDB: no download or upload again', async () => {
    messages.state.down = true;
    const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(40_000, 9)]);
    const sent = await patient.sendMedia(CLINIC, { kind: 'image', data: photo, mimetype: 'image/jpeg' });
    await until(() => messages.state.attempts > 3 || undefined, 'records failing');
    messages.state.down = false;

    const [stored] = await expectEachOnce([sent.id]);
    const file = await world.media.get(channel.tenantId, stored?.content.mediaId as string);
    expect(file?.data.equals(photo)).toBe(true);
    expect(media.state.attempts).toBe(1);
    expect(simulator.media.downloads.map((download) => download.outcome)).toEqual(['complete']);
  });

  it('records a document whose file name S3’s metadata cannot hold, and the messages behind it go on', async () => {
    // 3 KB once URI-encoded: over the 2 KB of metadata S3 keeps for an object.
    const fileName = `laudo-${'ç'.repeat(500)}.pdf`;
    const pdf = Buffer.from('%PDF-1.7 laudo');
    const document = await patient.sendMedia(CLINIC, {
      kind: 'document',
      data: pdf,
      mimetype: 'application/pdf',
      fileName,
    });
    const after = await patient.sendText(CLINIC, 'Recebeu o laudo?');

    const stored = await expectEachOnce([document.id, after.id]);
    const message = stored.find((candidate) => candidate.waMessageId === document.id);
    expect(message?.content).toMatchObject({ fileName, mimeType: 'application/pdf', size: pdf.length });
    expect(eventOf(message)?.data.content).toEqual({ document: message?.content });
    const file = await world.media.get(channel.tenantId, message?.content.mediaId as string);
    expect(file?.data.equals(pdf)).toBe(true);
    await until(() => unacknowledged().length === 0 || undefined, 'both receipts');
  });

  it('records a 300 KB text with its content in the media store, and the messages behind it go on', async () => {
    const body = 'Segue meu histórico completo. '.repeat(10_500);
    expect(Buffer.byteLength(body)).toBeGreaterThan(300_000);
    const long = await patient.sendText(CLINIC, body);
    const after = await patient.sendText(CLINIC, 'Conseguiu ler?');

    const stored = await expectEachOnce([long.id, after.id]);
    const message = stored.find((candidate) => candidate.waMessageId === long.id);
    const { contentMediaId, contentBytes } = (message?.content ?? {}) as {
      contentMediaId: string;
      contentBytes: number;
    };
    const kept = await world.media.get(channel.tenantId, contentMediaId);
    expect(kept?.mimeType).toBe('application/json');
    expect(JSON.parse(kept?.data.toString() ?? '{}')).toEqual({ body });
    expect(contentBytes).toBe(kept?.data.length);
    const [event] = world.events
      .of('message.received', channel.id)
      .filter((e) => e.data.messageId === message?.id);
    expect(event?.data.content).toEqual({ text: { contentMediaId, contentBytes } });
    await until(() => unacknowledged().length === 0 || undefined, 'both receipts');
  });

  it('records a message the store refuses for what it holds with the reason, counted, and goes on', async () => {
    messages.state.refuses = ([message]) => (message as Message).content.body === 'mensagem recusada';
    const refused = await patient.sendText(CLINIC, 'mensagem recusada');
    const after = await patient.sendText(CLINIC, 'e esta?');

    const stored = await expectEachOnce([refused.id, after.id]);
    expect(stored.find((message) => message.waMessageId === refused.id)?.content).toEqual({
      contentError: 'rejected',
    });
    expect(stored.find((message) => message.waMessageId === after.id)?.content).toEqual({ body: 'e esta?' });
    const refusedRecord = stored.find((message) => message.waMessageId === refused.id);
    expect(eventOf(refusedRecord)?.data.content).toEqual({ text: { contentError: 'rejected' } });
    expect(runner.health().counters).toMatchObject({ InboundRecordedWithError: 1 });
    expect(runner.health().counters.InboundRecordRetries).toBeUndefined();
    await until(() => unacknowledged().length === 0 || undefined, 'both receipts');
  });
});
