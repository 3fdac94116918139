import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createS3Client } from '#shared/aws/clients.ts';
import { loadAwsConfig } from '#shared/config.ts';
import type { Channel } from '#shared/domain/channel.ts';
import { emulatorEnvironment } from '../support/platform.ts';
import { ownPlatformForEachTest, report, until } from './support/runner-harness.ts';

const MB = 1024 * 1024;
const mb = (bytes: number) => (bytes / MB).toFixed(1);
/**
 * How much the runner's resident memory may grow while it handles the files, once warm: half the
 * streamed file. A streamed upload holds up to three 5 MiB parts, but the decrypted chunks and the
 * parts are Buffers outside V8's heap, collected only once ~64 MB of them are dead: measured, the
 * runner grew ~76 MB for an 80 MB stream and ~62 MB for 240 MB, ~32 MB since the download goes to
 * a spool file first: bounded, not proportional. Holding the 240 MB file whole would take more
 * than all of it; the 300 MB one is never fetched.
 */
const RSS_GROWTH_BUDGET = 120 * MB;
/** Over WhatsApp's 100 MB, under the cap this test sets, so that it is streamed. */
const LARGE_BYTES = 240 * MB;
const CAP_BYTES = 256 * MB;
function zerosDigest(length: number) {
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(MB);
  for (let offset = 0; offset < length; offset += MB)
    hash.update(zeros.subarray(0, Math.min(MB, length - offset)));
  return { length, sha256: hash.digest('hex') };
}

/** Resident memory of a process, from the kernel (a runner process is not ours to ask). */
function residentBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB$/m);
  return Number(line?.[1] ?? 0) * 1024;
}

describe('received media is bounded', () => {
  // A runner process serves every channel of the table it is given: it gets an emulator of its own.
  const own = ownPlatformForEachTest();
  let files: string;
  beforeEach(() => {
    files = mkdtempSync(join(tmpdir(), 'inbound-media-'));
  });
  afterEach(() => rmSync(files, { recursive: true, force: true }));

  /** Length and SHA-256 of a stored object, read as a stream. */
  async function storedDigest(key: string) {
    const s3 = createS3Client(loadAwsConfig(emulatorEnvironment(own.aws)));
    const object = await s3.send(new GetObjectCommand({ Bucket: own.aws.env.MEDIA_BUCKET_NAME, Key: key }));
    const hash = createHash('sha256');
    let length = 0;
    for await (const chunk of object.Body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      length += chunk.length;
    }
    return { length, sha256: hash.digest('hex') };
  }

  const inbound = (channel: Channel) => own.world.receivedMessages(channel);

  it('records a 300 MB document as too large without holding it, streams a 240 MB one to S3, and other channels go on', async () => {
    const pairing = await own.world.startRunner('pairing-runner');
    const [reception, lab] = [
      await own.world.newChannel('Recepção'),
      await own.world.newChannel('Laboratório'),
    ];
    const receptionPhone = await own.simulator.phones.create('5511955560001');
    const labPhone = await own.simulator.phones.create('5511955560002');
    const patient = await own.simulator.phones.create('5511966670001');
    await own.world.pairByQr(reception as Channel, receptionPhone);
    await own.world.pairByQr(lab as Channel, labPhone);
    await pairing.stop();

    const runner = await own.world.spawnRunner('runner-media', {
      leaseTtlSeconds: 10,
      env: { INBOUND_MEDIA_MAX_BYTES: String(CAP_BYTES) },
    });
    const pid = runner.child.pid as number;
    for (const phone of [receptionPhone, labPhone])
      await until(
        () => own.simulator.server.isConnected({ account: phone.account, deviceId: 1 }) || undefined,
        'both channels logged in on the runner',
        60_000,
      );
    // Warm up: a text and a first streamed file through the whole path (the first upload grows the
    // heap to its working size, once).
    await patient.sendMedia('5511955560001', {
      kind: 'video',
      data: Buffer.alloc(12 * MB, 7),
      mimetype: 'video/mp4',
    });
    await patient.sendText('5511955560002', 'Bom dia');
    await until(
      async () =>
        (await inbound(reception as Channel)).length + (await inbound(lab as Channel)).length === 2
          ? true
          : undefined,
      'the warm-up messages recorded',
      60_000,
    );

    const huge = join(files, 'exames.pdf');
    // Sparse: 300 MB of zeros that take no disk until the phone encrypts them.
    writeFileSync(huge, '');
    truncateSync(huge, 300 * MB);
    const large = join(files, 'video.mp4');
    writeFileSync(large, '');
    truncateSync(large, LARGE_BYTES);

    const baseline = residentBytes(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, residentBytes(pid));
    }, 100);
    try {
      const document = await patient.sendMedia('5511955560001', {
        kind: 'document',
        data: { file: huge },
        mimetype: 'application/pdf',
        fileName: 'exames.pdf',
      });
      const video = await patient.sendMedia('5511955560001', {
        kind: 'video',
        data: { file: large },
        mimetype: 'video/mp4',
      });
      const texts = [];
      for (let n = 0; n < 5; n++) texts.push(await patient.sendText('5511955560002', `resultado ${n}`));

      const received = await until(
        async () => {
          const messages = await inbound(reception as Channel);
          return messages.length === 3 ? messages : undefined;
        },
        'both files recorded',
        120_000,
      ).catch(async (error) => {
        report('recorded:', JSON.stringify((await inbound(reception as Channel)).map((m) => m.content)));
        throw error;
      });
      const byWaId = new Map(received.map((message) => [message.waMessageId, message]));
      expect(byWaId.get(document.id)?.content).toEqual({
        mediaId: null,
        mediaError: 'too_large',
        mimeType: 'application/pdf',
        sha256: null,
        size: null,
        fileName: 'exames.pdf',
      });
      const videoId = byWaId.get(video.id)?.content.mediaId as string;
      const expected = zerosDigest(LARGE_BYTES);
      expect(await storedDigest(`media/${reception?.tenantId}/${videoId}`)).toEqual(expected);
      // What the record (and its event) states of the file: counted while it was streamed.
      expect(byWaId.get(video.id)?.content).toMatchObject({ size: expected.length, sha256: expected.sha256 });

      const labMessages = await until(async () => {
        const messages = await inbound(lab as Channel);
        return messages.length === 6 ? messages : undefined;
      }, 'the other channel’s texts recorded');
      expect(labMessages.map((message) => message.waMessageId).sort()).toEqual(
        expect.arrayContaining(texts.map((message) => message.id).sort()),
      );
    } finally {
      clearInterval(sampler);
    }
    report(`runner RSS: ${mb(baseline)} MB before, peak ${mb(peak)} MB (+${mb(peak - baseline)} MB)`);
    expect(peak - baseline).toBeLessThan(RSS_GROWTH_BUDGET);
  }, 300_000);
});
