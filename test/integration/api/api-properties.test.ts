// The API under generated input, through real HTTP to the local front: whatever a client sends, the
// answer is never a fault, errors come in the API's error body, successes in the documented shape,
// a tenant never sees or touches another's data, and a refused request writes nothing.
//
// Each run draws a new seed and prints it when a property fails; API_FUZZ_SEED=<seed> replays that
// run's requests (on new tenants) and API_FUZZ_RUNS=<n> runs each property n times instead.
import { randomBytes, randomInt } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/http/routes.ts';
import { createSqsClient } from '#shared/aws/clients.ts';
import { loadAwsConfig } from '#shared/config.ts';
import { emulatorEnvironment, platformRepositories } from '../support/platform.ts';
import { fifoQueueWithDeadLetters } from '../support/queues.ts';
import { faultOrShapeProblems, problemsWith, routeOf } from './support/answer-checks.ts';
import { type ApiWorld, startApiWorld } from './support/api-world.ts';
import { framedRequest } from './support/fuzz-framing.ts';
import {
  concurrentCreates,
  type FuzzCast,
  type FuzzRequest,
  fuzzRequest,
  listRequest,
} from './support/fuzz-requests.ts';
import { type PartitionSnapshot, partitionChanges, snapshotPartition } from './support/partition-snapshot.ts';
import { type RawResponse, sendBytes, sendRaw } from './support/raw-http.ts';
import { plantTenant, type TenantFixture } from './support/tenant-fixtures.ts';
import { WriteLedger } from './support/write-ledger.ts';

const SEED = Number(process.env.API_FUZZ_SEED ?? randomInt(2 ** 31 - 1));
const runs = (suiteRuns: number) => Number(process.env.API_FUZZ_RUNS ?? suiteRuns);
/** Room for a slow machine (another suite running beside this one), and for any API_FUZZ_RUNS. */
const FUZZ_TIMEOUT_MS = process.env.API_FUZZ_RUNS ? 3_600_000 : 180_000;
const SHARDS = 2;

let world: ApiWorld;
let platform: ReturnType<typeof platformRepositories>;
/** They take turns, so the rate limit (200 requests in 10 s per tenant) seldom answers for them. */
let fuzzers: TenantFixture[];
/** Never acts: its data must never show in an answer to the others, nor change. */
let canary: TenantFixture;
/** The operator's target: the admin key may do anything to it, and nothing to the others. */
let sandbox: TenantFixture;

beforeAll(async () => {
  const env = emulatorEnvironment();
  const sqs = createSqsClient(loadAwsConfig(env));
  const prefix = `api-fuzz-${randomBytes(4).toString('hex')}`;
  // Queues of this file's own: the sends and connects it makes reach no other test.
  const queues = await Promise.all(
    Array.from({ length: SHARDS }, (_, shard) =>
      fifoQueueWithDeadLetters(sqs, `${prefix}-${shard}`, { maxReceiveCount: 5 }),
    ),
  );
  world = await startApiWorld({
    COMMAND_QUEUE_URLS: queues.map((queue) => queue.queueUrl).join(','),
    SHARD_COUNT: String(SHARDS),
  });
  platform = platformRepositories();
  canary = await plantTenant(world, platform, 'canary');
  sandbox = await plantTenant(world, platform, 'sandbox');
  fuzzers = [];
  for (const index of [1, 2, 3]) fuzzers.push(await plantTenant(world, platform, `fuzzer${index}`));
});
afterAll(() => world?.front.stop());

/** What of other tenants must never reach `actor`: ids, keys, and the marker in their data. */
function foreignTokens(actor: TenantFixture): string[] {
  return [...fuzzers, canary, sandbox]
    .filter((other) => other !== actor)
    .flatMap((other) => [
      other.tenantId,
      other.keyId,
      other.key,
      other.marker,
      ...Object.values(other.channels),
      ...other.messages.outbound,
      other.messages.inbound,
    ]);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function snapshotAll(): Promise<Map<TenantFixture, PartitionSnapshot>> {
  const tenants = [...fuzzers, canary, sandbox];
  const snapshots = tenants.map(
    async (tenant) =>
      [
        tenant,
        await snapshotPartition(platform.client, platform.resources.platformTable, tenant.tenantId),
      ] as const,
  );
  return new Map(await Promise.all(snapshots));
}

/** Fails with every change to a partition that no successful answer accounts for. */
async function expectOnlyExplainedWrites(
  before: ReadonlyMap<TenantFixture, PartitionSnapshot>,
  ledger: WriteLedger,
): Promise<void> {
  const after = await snapshotAll();
  const unexplained = [...before].flatMap(([tenant, items]) =>
    ledger
      .unexplained(tenant.tenantId, partitionChanges(items, after.get(tenant) ?? new Map()))
      .map(
        (change) =>
          `${tenant.marker}: ${change.kind} ${change.sk} ${JSON.stringify(change.after ?? change.before).slice(0, 400)}`,
      ),
  );
  expect(unexplained, `writes no successful answer accounts for (seed ${SEED})`).toEqual([]);
}

interface Fuzzing {
  readonly requests: fc.Arbitrary<FuzzRequest>;
  readonly numRuns: number;
  /** The tenants the requests' `actor` indexes, and what of others each must not see. */
  readonly actors: readonly TenantFixture[];
  readonly foreignTokens: (actor: TenantFixture) => string[];
  readonly moreProblems?: (request: FuzzRequest, answer: RawResponse) => string[];
}

/** Sends the generated requests, checking each answer, then checks what the run wrote. */
async function fuzz({ requests, numRuns, actors, foreignTokens, moreProblems }: Fuzzing): Promise<void> {
  const before = await snapshotAll();
  const ledger = new WriteLedger();
  const tokens = actors.map(foreignTokens);
  await fc.assert(
    fc.asyncProperty(requests, async (request) => {
      const answer = await sendRaw(world.front.url, request);
      const actor = actors[request.actor] as TenantFixture;
      const matched = routeOf(request.method, request.path);
      if (matched && answer.status < 300)
        ledger.record(actor.tenantId, matched.spec.operationId, matched.params, parseJson(answer.text));
      const problems = [
        ...problemsWith(request, answer, tokens[request.actor] ?? []),
        ...(moreProblems?.(request, answer) ?? []),
      ];
      if (problems.length)
        throw new Error(`${problems.join('\n')}\nanswer: ${answer.status} ${answer.text.slice(0, 500)}`);
    }),
    { seed: SEED, numRuns },
  );
  await expectOnlyExplainedWrites(before, ledger);
}

describe('the API under generated requests', () => {
  it(
    "answers any request of a tenant in the API's shapes, never with a fault, and writes only what it accepted",
    async () => {
      await fuzz({
        requests: fuzzRequest({ actors: fuzzers, bystanders: [canary, sandbox] }),
        numRuns: runs(1500),
        actors: fuzzers,
        foreignTokens,
      });
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'serves a page only of the list asked for, whatever cursor comes with it',
    async () => {
      await fuzz({
        requests: listRequest({ actors: fuzzers, bystanders: [canary] }),
        numRuns: runs(300),
        actors: fuzzers,
        foreignTokens,
        moreProblems: (request, answer) => {
          if (answer.status !== 200) return [];
          const channelId = routeOf(request.method, request.path)?.params.channelId;
          const items = (parseJson(answer.text) as { items?: { channelId?: string }[] }).items ?? [];
          const strays = channelId ? items.filter((item) => item.channelId !== channelId) : [];
          return strays.map((item) => `a page of ${channelId} holds a message of ${item.channelId}`);
        },
      });
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "answers the operator's generated requests without a fault, touching only the tenant it names",
    async () => {
      // The admin key acting on the sandbox's ids (and absent and malformed ones), never the others'.
      const operator = { ...sandbox, key: world.adminKey };
      const cast: FuzzCast = {
        actors: [operator],
        bystanders: [],
        routes: ROUTES.filter((route) => route.access.kind !== 'tenant'),
      };
      await fuzz({
        requests: fuzzRequest(cast),
        numRuns: runs(250),
        actors: [operator],
        foreignTokens: () => [],
      });
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'creates at most one resource for concurrent requests sharing an Idempotency-Key',
    async () => {
      const before = await snapshotAll();
      const ledger = new WriteLedger();
      const tokens = fuzzers.map(foreignTokens);
      await fc.assert(
        fc.asyncProperty(concurrentCreates({ actors: fuzzers, bystanders: [canary] }), async (batch) => {
          const answers = await Promise.all(batch.map((request) => sendRaw(world.front.url, request)));
          const problems = batch.flatMap((request, index) => {
            const answer = answers[index] as RawResponse;
            const matched = routeOf(request.method, request.path);
            const actor = fuzzers[request.actor] as TenantFixture;
            if (matched && answer.status < 300)
              ledger.record(actor.tenantId, matched.spec.operationId, matched.params, parseJson(answer.text));
            return problemsWith(request, answer, tokens[request.actor] ?? []);
          });
          const created = new Set(
            answers
              .filter((answer) => answer.status < 300)
              .map((answer) => (parseJson(answer.text) as { id?: string }).id),
          );
          if (created.size > 1) problems.push(`one Idempotency-Key created ${[...created].join(', ')}`);
          const conflicts = answers
            .filter((answer) => answer.status === 409)
            .map((answer) => (parseJson(answer.text) as { error?: { code?: string } }).error?.code);
          for (const code of conflicts) {
            if (code !== 'idempotency_key_in_use' && code !== 'idempotency_key_reused')
              problems.push(`409 ${code}`);
          }
          if (problems.length) throw new Error(problems.join('\n'));
        }),
        { seed: SEED, numRuns: runs(40) },
      );
      // A copy that ran although another answered for the key would leave a resource no answer names.
      await expectOnlyExplainedWrites(before, ledger);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'answers requests framed wrongly on the wire in the API error body',
    async () => {
      const actor = fuzzers[0] as TenantFixture;
      const before = await snapshotAll();
      const ledger = new WriteLedger();
      await fc.assert(
        fc.asyncProperty(framedRequest(actor), async (framed) => {
          const answer = await sendBytes(world.front.url, framed.bytes, {
            closeAfterMs: framed.promisesMore ? 150 : 10_000,
          });
          if (!answer) throw new Error('the connection closed without an answer');
          const matched = routeOf(framed.method, framed.path);
          if (matched && answer.status < 300)
            ledger.record(actor.tenantId, matched.spec.operationId, matched.params, parseJson(answer.text));
          const problems = faultOrShapeProblems(answer, framed.method);
          if (problems.length)
            throw new Error(`${problems.join('\n')}\nanswer: ${answer.status} ${answer.text}`);
        }),
        { seed: SEED, numRuns: runs(150) },
      );
      await expectOnlyExplainedWrites(before, ledger);
    },
    FUZZ_TIMEOUT_MS,
  );
});
