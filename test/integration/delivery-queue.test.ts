// The SQS delivery queue on the emulator's provisioned queue: what the dispatcher will receive.
import { describe, expect, it } from 'vitest';
import {
  MAX_SQS_DELAY_SECONDS,
  parseDeliveryJobMessage,
  SqsDeliveryQueue,
} from '#shared/aws/sqs-delivery-queue.ts';
import { newId } from '#shared/domain/ids.ts';
import { takeJobsOf } from './support/delivery-jobs.ts';
import { platformRepositories } from './support/platform.ts';

const platform = platformRepositories();
const queueUrl = platform.resources.webhookDeliveryQueueUrl;

function job(tenantId: string) {
  const webhookId = newId('webhook');
  return {
    tenantId,
    webhookId,
    deliveryId: `dlv_${'0'.repeat(52)}`,
    orderKey: `${webhookId}#-`,
    attemptCount: 0,
    generation: 0,
    dueAt: '2030-01-01T00:00:00.000Z',
  };
}

describe('the SQS delivery queue', () => {
  it('sends every job, in batches of ten, with the time it is due', async () => {
    const tenantId = newId('tenant');
    const jobs = Array.from({ length: 23 }, () => job(tenantId));
    const now = new Date('2030-01-01T00:00:00.000Z');
    await new SqsDeliveryQueue(platform.clients.sqs, platform.resources.webhookDeliveryQueueUrl, {
      now: () => now,
    }).enqueue(jobs);
    const received = await takeJobsOf(platform.clients.sqs, queueUrl, tenantId, jobs.length);
    expect(received.map((body) => body.webhookId).sort()).toEqual(jobs.map((j) => j.webhookId).sort());
    for (const body of received) expect(body.notBefore).toBe(now.toISOString());
  });

  it('delays a job at most 15 minutes, and carries the real due time', async () => {
    const tenantId = newId('tenant');
    const now = new Date('2030-01-01T00:00:00.000Z');
    const queue = new SqsDeliveryQueue(platform.clients.sqs, platform.resources.webhookDeliveryQueueUrl, {
      now: () => now,
    });
    await queue.enqueue([job(tenantId)], { delayMs: 3 * 3600_000 });
    // Delayed: not there now.
    expect(await takeJobsOf(platform.clients.sqs, queueUrl, tenantId, 1, 2_000)).toEqual([]);
    expect(MAX_SQS_DELAY_SECONDS).toBe(900);
  });

  it('refuses a message that is not a job', () => {
    expect(() => parseDeliveryJobMessage('{"tenantId":"t"}')).toThrow();
    expect(() => parseDeliveryJobMessage('nope')).toThrow();
  });
});
