import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MediaDownloadTuning } from '#runner/messages/whatsapp-media.ts';
import type { Runner } from '#runner/runner.ts';
import type { Channel } from '#shared/domain/channel.ts';
import type { Message } from '#shared/domain/message.ts';
import { type Simulator, startSimulator, type VirtualPhone } from '#test/simulator';
import { type RunnerPlatform, runnerPlatform, until } from './support/runner-harness.ts';

const RECEPTION = '5511911170001';
const LAB = '5511911170002';
const PATIENT = '5511922270001';
/** A photo of a few encrypted AES blocks more than the bytes a fault lets through. */
const PHOTO = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(120_000, 3)]);
const CUT_AFTER = 40_000;
/** Short enough for a test: a second without bytes is a stall, three downloads a file. */
const QUICK: Partial<MediaDownloadTuning> = {
  idleTimeoutMs: 1_000,
  attempts: 3,
  retry: { baseMs: 100, maxMs: 200 },
};

describe('received media when WhatsApp’s media host fails mid-file', () => {
  let simulator: Simulator;
  let world: RunnerPlatform;
  let reception: Channel;
  let lab: Channel;
  let patient: VirtualPhone;
  let receptionPhone: VirtualPhone;
  let runner: Runner;
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  beforeEach(async () => {
    uncaught.length = 0;
    process.on('uncaughtException', onUncaught);
    simulator = await startSimulator();
    world = await runnerPlatform(simulator);
    // The clinics' own phones download nothing: the runner is the only client of the media host.
    receptionPhone = await simulator.phones.create(RECEPTION, { keepsMedia: false });
    const labPhone = await simulator.phones.create(LAB, { keepsMedia: false });
    patient = await simulator.phones.create(PATIENT);
    reception = await world.newChannel('Recepção');
    lab = await world.newChannel('Laboratório');
    runner = await startRunner('runner-a', QUICK);
    await world.pairByQr(reception, receptionPhone);
    await world.pairByQr(lab, labPhone);
  });
  afterEach(async () => {
    await world.stopAll();
    await simulator.stop();
    process.off('uncaughtException', onUncaught);
  });

  function startRunner(runnerId: string, mediaDownloadTuning: Partial<MediaDownloadTuning>) {
    return world.startRunner(runnerId, {
      mediaDownloadTuning,
      sessionTuning: { backoff: { baseMs: 200, maxMs: 1_000 }, recordRetry: { baseMs: 200, maxMs: 1_000 } },
    });
  }

  const outcomes = () => simulator.media.downloads.map((download) => download.outcome);

  /** The channel's received messages once `count` are recorded. */
  const recorded = (channel: Channel, count: number) =>
    until(async () => {
      const messages = await world.receivedMessages(channel);
      return messages.length >= count ? messages : undefined;
    }, `${count} messages recorded on ${channel.name}`);

  /** The stored photo's bytes, from the single record of `waMessageId`. */
  async function storedPhoto(messages: Message[], waMessageId: string) {
    const records = messages.filter((message) => message.waMessageId === waMessageId);
    expect(records).toHaveLength(1);
    const stored = await world.media.get(reception.tenantId, records[0]?.content.mediaId as string);
    return stored?.data;
  }

  it('lives through a connection reset mid-file: the file is stored once after a retry, and another channel goes on', async () => {
    simulator.faults.cutMediaDownloads('reset', CUT_AFTER, 1);

    const photo = await patient.sendMedia(RECEPTION, { kind: 'image', data: PHOTO, mimetype: 'image/jpeg' });
    const texts = [];
    for (let n = 0; n < 3; n++) texts.push(await patient.sendText(LAB, `resultado ${n}`));

    const [stored] = await recorded(reception, 1);
    expect(stored?.content.mediaError).toBeUndefined();
    expect((await storedPhoto([stored as Message], photo.id))?.equals(PHOTO)).toBe(true);
    expect((await recorded(lab, 3)).map((message) => message.waMessageId).sort()).toEqual(
      texts.map((text) => text.id).sort(),
    );
    expect(outcomes()).toEqual(['reset', 'complete']);
    expect(runner.health().counters).toMatchObject({ MediaDownloadRetries: 1 });
    expect(uncaught).toEqual([]);
  });

  it('records the message once as download_failed when every try is reset, and the next message goes on', async () => {
    simulator.faults.cutMediaDownloads('reset', CUT_AFTER);

    const photo = await patient.sendMedia(RECEPTION, { kind: 'image', data: PHOTO, mimetype: 'image/jpeg' });
    const after = await patient.sendText(RECEPTION, 'Chegou a foto?');

    const messages = await recorded(reception, 2);
    expect(messages.filter((message) => message.waMessageId === photo.id).map((m) => m.content)).toEqual([
      {
        mediaId: null,
        mediaError: 'download_failed',
        mimeType: 'image/jpeg',
        sha256: null,
        size: null,
        fileName: null,
      },
    ]);
    expect(messages.find((message) => message.waMessageId === after.id)?.content).toEqual({
      body: 'Chegou a foto?',
    });
    expect(outcomes()).toEqual(['reset', 'reset', 'reset']);
    expect(runner.health().counters).toMatchObject({ MediaDownloadRetries: 2, InboundRecordedWithError: 1 });
    expect(uncaught).toEqual([]);
  });

  it('abandons a body that stalls after the idle timeout and downloads the file again', async () => {
    simulator.faults.cutMediaDownloads('stall', CUT_AFTER, 1);

    const photo = await patient.sendMedia(RECEPTION, { kind: 'image', data: PHOTO, mimetype: 'image/jpeg' });

    const messages = await recorded(reception, 1);
    expect((await storedPhoto(messages, photo.id))?.equals(PHOTO)).toBe(true);
    // The runner closed the stalled connection itself: no connection is left to the media host.
    expect(outcomes()).toEqual(['closed by client', 'complete']);
  });

  it('stops a download under way when the connection to WhatsApp closes, and stores the file when the message comes again', async () => {
    // A runner that would wait ten minutes for a stalled body: only the closing connection stops it.
    await runner.stop();
    runner = await startRunner('runner-b', { ...QUICK, idleTimeoutMs: 600_000 });
    await until(
      () => simulator.server.isConnected({ account: receptionPhone.account, deviceId: 1 }) || undefined,
      'the reception channel logged in on the new runner',
    );
    simulator.faults.cutMediaDownloads('stall', CUT_AFTER, 1);

    const photo = await patient.sendMedia(RECEPTION, { kind: 'image', data: PHOTO, mimetype: 'image/jpeg' });
    await until(() => outcomes()[0] === 'stalled' || undefined, 'the download stalled');
    simulator.faults.dropConnections({ phoneNumber: RECEPTION, deviceId: 1 });
    await until(() => outcomes()[0] === 'closed by client' || undefined, 'the stalled download closed');

    const messages = await recorded(reception, 1);
    expect((await storedPhoto(messages, photo.id))?.equals(PHOTO)).toBe(true);
    expect(outcomes()).toEqual(['closed by client', 'complete']);
  });
});
