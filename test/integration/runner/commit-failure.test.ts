// Baileys writes a message's stanza before it commits the ratchet step it took. If that commit
// fails and the socket carries on, the next message is encrypted from the stored, older state: the
// same message key again, which the patient's phone refuses (and which must never encrypt two
// texts). The session closes its socket at the failure and opens it again only once the step is
// stored.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Runner } from '#runner/runner.ts';
import type { Channel } from '#shared/domain/channel.ts';
import { type Simulator, startSimulator, type VirtualPhone } from '#test/simulator';
import { runnerPlatform, until } from './support/runner-harness.ts';

const CLINIC_NUMBER = '5511955580001';
const PATIENT_NUMBER = '5511955590001';

/** The emulator's client, with the next `failures` session transactions failing as a throttled DynamoDB would. */
function failableSessionWrites(client: DynamoDBDocumentClient) {
  let failures = 0;
  let failed = 0;
  const wrapped = Object.create(client, {
    send: {
      value: (command: { constructor: { name: string } }, ...rest: unknown[]) => {
        if (failures > 0 && command.constructor.name === 'TransactWriteCommand') {
          failures--;
          failed++;
          return Promise.reject(
            Object.assign(new Error('Throughput exceeded'), { name: 'ThrottlingException' }),
          );
        }
        return client.send(command as never, ...(rest as []));
      },
    },
  }) as DynamoDBDocumentClient;
  return {
    client: wrapped,
    failNext: (count: number) => {
      failures = count;
    },
    get failed() {
      return failed;
    },
  };
}

describe('a commit of Signal state that fails', () => {
  let simulator: Simulator;
  let world: Awaited<ReturnType<typeof runnerPlatform>>;
  let runner: Runner;
  let channel: Channel;
  let clinicPhone: VirtualPhone;
  let patient: VirtualPhone;
  let writes: ReturnType<typeof failableSessionWrites>;

  beforeEach(async () => {
    simulator = await startSimulator();
    world = await runnerPlatform(simulator);
    writes = failableSessionWrites(world.platform.client);
    clinicPhone = await simulator.phones.create(CLINIC_NUMBER);
    patient = await simulator.phones.create(PATIENT_NUMBER);
    channel = await world.newChannel('Recepção');
    runner = await world.startRunner('runner-a', {
      sessionDynamo: writes.client,
      sessionTuning: { backoff: { baseMs: 200, maxMs: 1_000 } },
      commandRetry: { baseMs: 200, maxMs: 1_000 },
    });
    await world.pairByQr(channel, clinicPhone);
  });
  afterEach(async () => {
    await world.stopAll();
    await simulator.stop();
  });

  const send = (body: string) =>
    world.bus.send(world.textCommand(channel, `+${PATIENT_NUMBER}`, body), channel.shard);
  const texts = () => patient.received.map((message) => message.text);
  const reconnects = () => runner.health().counters.Reconnects ?? 0;

  it('closes the socket before another stanza, stores the step, then sends on from it', async () => {
    await send('um');
    await until(() => texts().includes('um') || undefined, 'the first message');

    // The next send's commit fails (and Baileys' retry of it too): its stanza is out already.
    writes.failNext(2);
    const reconnectsBefore = reconnects();
    await send('dois');
    await until(() => texts().includes('dois') || undefined, 'the second message');
    await send('três');
    await send('quatro');
    await until(() => texts().includes('quatro') || undefined, 'the messages after the failure');

    // Sent from a stored state older than the stanza that went out, 'três' would reuse a message
    // key: the patient's phone cannot read it, and it is lost.
    expect(texts()).toEqual(['um', 'dois', 'três', 'quatro']);
    expect(patient.undecryptable).toEqual([]);
    expect(writes.failed).toBeGreaterThanOrEqual(1);
    expect(reconnects()).toBeGreaterThan(reconnectsBefore);
  });
});
