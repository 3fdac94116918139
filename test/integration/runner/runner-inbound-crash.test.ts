import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlatformEvent } from '#shared/domain/events.ts';
import { deviceKey, type SentMessage } from '#test/simulator';
import { type DynamoProxy, startDynamoProxy } from '../support/dynamo-proxy.ts';
import { ownPlatformForEachTest, report, seconds, until } from './support/runner-harness.ts';

const MESSAGES = 200;
/** Decrypted by the first runner but never recorded by it when it is killed. */
const IN_THE_WINDOW = 50;
const CLINIC = '5511933340001';
const PATIENT = '5511944450001';
describe('a runner killed between decrypting received messages and recording them', () => {
  // Two runner processes load the emulator hard: this test brings its own (whose event bus routes
  // every event to its recorder queue, where the test reads them).
  const own = ownPlatformForEachTest();
  let proxy: DynamoProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  const published: PlatformEvent<'message.received'>[] = [];
  /** Moves what reached the recorder queue into `published`. */
  async function readPublished(): Promise<void> {
    for (;;) {
      const { Messages = [] } = await own.world.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: own.aws.env.RECORDER_QUEUE_URL,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        }),
      );
      if (Messages.length === 0) return;
      for (const message of Messages) {
        const envelope = JSON.parse(message.Body ?? '{}');
        if (envelope['detail-type'] === 'message.received') published.push(envelope.detail);
      }
      await own.world.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: own.aws.env.RECORDER_QUEUE_URL,
          Entries: Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
  }

  it('records every message once and publishes its event once after failover', async () => {
    const pairing = await own.world.startRunner('pairing-runner');
    const channel = await own.world.newChannel('Recepção');
    const clinicPhone = await own.simulator.phones.create(CLINIC);
    const patient = await own.simulator.phones.create(PATIENT);
    await own.world.pairByQr(channel, clinicPhone);
    await pairing.stop();

    // The first runner reaches DynamoDB through a proxy that can swallow its message records.
    let stalling = false;
    let sessionWritesWhileStalling = 0;
    proxy = await startDynamoProxy(own.aws.endpoint, ({ operation, body }) => {
      if (!stalling || operation !== 'TransactWriteItems') return 'forward';
      if (body.includes('"WAMSG#')) return proxy?.stalled === 0 ? 'forward_unanswered' : 'hold';
      if (body.includes('KEY#session#')) sessionWritesWhileStalling++;
      return 'forward';
    });
    const timing = { leaseTtlSeconds: 10, eventBusName: own.aws.env.EVENT_BUS_NAME as string };
    const a = await own.world.spawnRunner('runner-a', {
      ...timing,
      env: { AWS_ENDPOINT_URL_DYNAMODB: proxy.url },
    });
    const runnerDevice = { account: clinicPhone.account, deviceId: 1 };
    await until(
      () => own.simulator.server.isConnected(runnerDevice) || undefined,
      'the channel logged in on runner-a',
      60_000,
    );

    const sent: SentMessage[] = [];
    const send = async (n: number) => sent.push(await patient.sendText(CLINIC, `mensagem ${n}`));
    for (let n = 0; n < MESSAGES / 2; n++) await send(n);
    await until(
      async () => ((await own.world.receivedMessages(channel)).length >= MESSAGES / 2 ? true : undefined),
      'the first half recorded',
      60_000,
    );

    // From now on the first record write reaches DynamoDB but runner-a never hears back, and the
    // ones after it never leave: the messages are decrypted (their Signal state written) and held.
    stalling = true;
    for (let n = MESSAGES / 2; n < MESSAGES / 2 + IN_THE_WINDOW; n++) await send(n);
    await until(
      () => (sessionWritesWhileStalling >= IN_THE_WINDOW ? true : undefined),
      `${IN_THE_WINDOW} messages decrypted by runner-a`,
      60_000,
    );
    const owed = own.simulator.server.queue
      .pending(deviceKey(CLINIC, 1))
      .filter((stanza) => stanza.tag === 'message');
    expect(owed).toHaveLength(IN_THE_WINDOW);
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await a.exited;
    stalling = false;

    // The rest is sent while no runner is there: WhatsApp keeps it for the device.
    for (let n = MESSAGES / 2 + IN_THE_WINDOW; n < MESSAGES; n++) await send(n);
    await own.world.spawnRunner('runner-b', timing);

    const all = await until(
      async () => {
        const stored = await own.world.receivedMessages(channel);
        return stored.length >= MESSAGES ? stored : undefined;
      },
      'every message recorded',
      240_000,
    ).catch(async (error) => {
      report('recorded:', (await own.world.receivedMessages(channel)).length);
      throw error;
    });
    report(`all ${MESSAGES} messages recorded ${seconds(Date.now() - killedAt)} s after the kill`);
    expect(all.map((message) => message.waMessageId).sort()).toEqual(
      sent.map((message) => message.id).sort(),
    );
    const texts = all.map((message) => message.content.body);
    for (let n = 0; n < MESSAGES; n++)
      expect(texts.filter((text) => text === `mensagem ${n}`)).toHaveLength(1);

    await until(
      async () => {
        await readPublished();
        const reported = new Set(published.map((event) => event.data.messageId));
        return all.every((message) => reported.has(message.id)) ? true : undefined;
      },
      'an event for every message',
      60_000,
    ).catch((error) => {
      report('events for', new Set(published.map((event) => event.data.messageId)).size, 'messages');
      throw error;
    });
    for (const message of all) {
      const ids = new Set(published.filter((event) => event.data.messageId === message.id).map((e) => e.id));
      expect(ids.size).toBe(1);
    }
    expect(new Set(published.map((event) => event.data.messageId)).size).toBe(MESSAGES);
    report(`events: ${published.length} delivered for ${MESSAGES} messages (receivers dedupe by id)`);
  }, 420_000);
});
