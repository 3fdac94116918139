import { DisconnectReason } from '@whiskeysockets/baileys';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from './simulator.ts';
import { eventually, TestCompanion } from './test-client.ts';
import type { VirtualPhone } from './virtual-phone.ts';

describe('fault injection', () => {
  let simulator: Simulator;
  let phone: VirtualPhone;
  let patient: VirtualPhone;
  let clinic: TestCompanion;
  const clinicDevice = { phoneNumber: '5511988880001', deviceId: 1 };
  const post = (path: string, body: unknown) =>
    fetch(`${simulator.adminUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (response) => ({ status: response.status, body: await response.json() }));

  beforeEach(async () => {
    simulator = await startSimulator();
    phone = await simulator.phones.create(clinicDevice.phoneNumber);
    patient = await simulator.phones.create('5511999990001');
    clinic = new TestCompanion(simulator);
    await phone.scanQr(await eventually(() => clinic.log.qrs[0], 'a QR code'));
    await eventually(() => clinic.log.historySyncs.length > 0, 'companion ready');
  });
  afterEach(async () => {
    clinic.stop();
    await simulator.stop();
  });

  it('drops a connection: the client sees it closed and reconnects', async () => {
    const opens = clinic.log.opens;

    expect(await post('/faults/drop', clinicDevice)).toEqual({ status: 200, body: { affected: 1 } });

    await eventually(() => clinic.log.closes.at(-1) === DisconnectReason.connectionClosed, 'close seen');
    await eventually(() => clinic.log.opens === opens + 1, 'reconnected');
  });

  for (const code of [DisconnectReason.restartRequired, DisconnectReason.unavailableService]) {
    it(`sends stream error ${code}: the client closes with ${code} and logs in again`, async () => {
      const opens = clinic.log.opens;

      expect(simulator.faults.sendStreamError(code, clinicDevice)).toBe(1);

      await eventually(() => clinic.log.closes.at(-1) === code, `close ${code}`);
      await eventually(() => clinic.log.opens === opens + 1, 'reconnected');
    });
  }

  it('sends stream error 440: the client is told its connection was replaced', async () => {
    expect((await post('/faults/stream-error', { code: 440, ...clinicDevice })).body).toEqual({
      affected: 1,
    });

    await eventually(() => clinic.log.closes.at(-1) === DisconnectReason.connectionReplaced, 'close 440');
  });

  it('delays and jitters frames without reordering them', async () => {
    expect((await post('/faults/delay', { delayMs: 20, jitterMs: 40 })).body).toEqual({
      refusingForMs: 0,
      delayMs: 20,
      jitterMs: 40,
      media: null,
    });
    const texts = ['um', 'dois', 'três', 'quatro', 'cinco'];
    for (const text of texts) await patient.sendText(clinicDevice.phoneNumber, text);

    const received = await eventually(() => {
      const seen = clinic.receivedTexts();
      return seen.length === texts.length ? seen : undefined;
    }, 'all five texts');
    expect(received).toEqual(texts);
  });

  it('refuses connections until the refusal is lifted', async () => {
    expect((await post('/faults/refuse', { durationMs: 600_000 })).status).toBe(200);
    const closesBefore = clinic.log.closes.length;
    const opens = clinic.log.opens;
    simulator.faults.dropConnections(clinicDevice);

    await eventually(() => clinic.log.closes.length >= closesBefore + 3, 'refused reconnect attempts');
    expect(clinic.log.opens).toBe(opens);

    simulator.faults.refuseConnections(0);
    await eventually(() => clinic.log.opens === opens + 1, 'reconnected after the refusal');
  });
});

describe('media download faults', () => {
  let simulator: Simulator;
  const path = '/mms/document/exame';
  const file = Buffer.alloc(200_000, 7);
  beforeEach(async () => {
    simulator = await startSimulator();
    simulator.media.store.put(path, file);
  });
  afterEach(() => simulator.stop());

  /** Reads the body until it ends, fails, or `stopAfter` bytes came; what came and how it ended. */
  async function download(signal?: AbortSignal, stopAfter = Number.POSITIVE_INFINITY) {
    const response = await fetch(`${simulator.adminUrl}${path}`, signal ? { signal } : {});
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let bytes = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return { bytes, ended: 'whole' };
        bytes += value.length;
        if (bytes >= stopAfter) return { bytes, ended: 'stopped reading', reader };
      }
    } catch {
      return { bytes, ended: 'failed' };
    }
  }

  it('resets the next download after some bytes; the one after is whole', async () => {
    simulator.faults.cutMediaDownloads('reset', 50_000, 1);

    expect(await download()).toEqual({ bytes: 50_000, ended: 'failed' });
    expect(await download()).toEqual({ bytes: file.length, ended: 'whole' });
    expect(simulator.media.downloads.map((entry) => entry.outcome)).toEqual(['reset', 'complete']);
  });

  it('stalls downloads after some bytes until the client gives up (set through the admin API)', async () => {
    const set = await fetch(`${simulator.adminUrl}/faults/media`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'stall', afterBytes: 1_000 }),
    });
    expect(await set.json()).toMatchObject({ media: { mode: 'stall', afterBytes: 1_000, remaining: null } });
    const giveUp = new AbortController();

    const stalled = await download(giveUp.signal, 1_000);
    expect(stalled.bytes).toBe(1_000);
    await eventually(() => simulator.media.downloads[0]?.outcome === 'stalled', 'the download stalled');
    giveUp.abort();
    await eventually(
      () => simulator.media.downloads[0]?.outcome === 'closed by client',
      'the stalled download closed by the client',
    );
    simulator.faults.reset();
    expect(await download()).toEqual({ bytes: file.length, ended: 'whole' });
  });
});
