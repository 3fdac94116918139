import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { provisionCompanion } from './provisioning.ts';
import { type Simulator, startSimulator } from './simulator.ts';
import { eventually, TestCompanion } from './test-client.ts';

describe('provisioned companions', () => {
  let simulator: Simulator;
  const companions: TestCompanion[] = [];
  beforeEach(async () => {
    simulator = await startSimulator();
  });
  afterEach(async () => {
    for (const companion of companions.splice(0)) companion.stop();
    await simulator.stop();
  });

  it('log in without pairing and exchange messages with real keys', async () => {
    const [alice, bob] = ['5511800000001', '5511800000002'].map((number) => {
      const companion = new TestCompanion(simulator, provisionCompanion(simulator.server, number));
      companions.push(companion);
      return companion;
    });
    await eventually(() => alice && bob && alice.log.opens > 0 && bob.log.opens > 0, 'both open');
    if (!alice || !bob) throw new Error('companions missing');

    await alice.socket.sendMessage('5511800000002@s.whatsapp.net', { text: 'oi' });
    await bob.socket.sendMessage('5511800000001@s.whatsapp.net', { text: 'olá' });

    await eventually(
      () => bob.receivedTexts().includes('oi') && alice.receivedTexts().includes('olá'),
      'both texts',
    );
    expect(alice.log.qrs).toEqual([]);
  });
});
