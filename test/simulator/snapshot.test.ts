import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from './simulator.ts';
import { eventually, TestCompanion } from './test-client.ts';

describe('snapshot file', () => {
  const directory = mkdtempSync(join(tmpdir(), 'wa-sim-snapshot-'));
  const running: Simulator[] = [];
  const companions: TestCompanion[] = [];
  afterEach(async () => {
    for (const companion of companions.splice(0)) companion.stop();
    for (const simulator of running.splice(0)) await simulator.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('restores accounts, devices, queued messages and phones after a restart', async () => {
    const snapshotFile = join(directory, 'simulator.json');
    const before = await startSimulator({ snapshotFile });
    running.push(before);
    const clinicPhone = await before.phones.create('5511912340001');
    const patient = await before.phones.create('5511912340002');
    const first = new TestCompanion(before);
    companions.push(first);
    await clinicPhone.scanQr(await eventually(() => first.log.qrs[0], 'a QR code'));
    await eventually(() => first.log.historySyncs.length > 0, 'companion ready');
    await patient.sendText('5511912340001', 'antes do reinício');
    await eventually(() => first.receivedTexts().includes('antes do reinício'), 'first text');
    first.stop();
    await eventually(
      () => !before.server.isConnected({ account: clinicPhone.account, deviceId: 1 }),
      'offline',
    );
    await patient.sendText('5511912340001', 'enquanto offline');
    await eventually(() => before.server.queue.count('5511912340001:1') === 1, 'queued');
    running.pop();
    await before.stop();

    const after = await startSimulator({ snapshotFile });
    running.push(after);
    expect(after.rootPublicKey).toEqual(before.rootPublicKey);
    expect(after.phones.list().map((phone) => [phone.phoneNumber, phone.connected])).toEqual([
      ['5511912340001', true],
      ['5511912340002', true],
    ]);
    const back = new TestCompanion(after, first.auth);
    companions.push(back);
    await eventually(() => back.receivedTexts().includes('enquanto offline'), 'queued text after restart');

    const reply = await back.socket.sendMessage('5511912340002@s.whatsapp.net', {
      text: 'depois do reinício',
    });
    const restoredPatient = after.phones.get('5511912340002');
    await eventually(
      () => restoredPatient?.received.find((message) => message.id === reply?.key.id),
      'restored phone decrypts',
    );
    expect(restoredPatient?.received.map((message) => message.text)).toEqual(['depois do reinício']);
    // What the phone sent before the restart is still listed.
    expect([...(restoredPatient?.sent.values() ?? [])].map((message) => message.to)).toEqual([
      '5511912340001',
      '5511912340001',
    ]);
  });
});
