// Tenants with something in them, for fuzzing to aim at: channels, messages both ways, a key, and
// the cursors of their lists. Everything goes through the API except what only a runner writes (a
// channel leaving `disconnected`, a patient's message), which goes through the same repositories a
// runner writes with, so no runner has to run and the tenants' partitions stay still while fuzzed.
import { randomBytes } from 'node:crypto';
import type { Platform } from '#shared/platform.ts';
import { receivedText } from '../../support/messages.ts';
import type { ApiClient } from './api-client.ts';

export interface TenantFixture {
  readonly tenantId: string;
  readonly key: string;
  readonly keyId: string;
  readonly client: ApiClient;
  readonly channels: {
    /** `connecting`: sends are accepted (nothing consumes them). */
    readonly sendable: string;
    /** `disconnected`. */
    readonly idle: string;
    /** `disconnected`, there to be deleted. */
    readonly disposable: string;
  };
  /** Of the sendable channel. */
  readonly messages: { readonly outbound: readonly string[]; readonly inbound: string };
  /** A real `nextCursor` of its channel list and of its sendable channel's messages. */
  readonly cursors: { readonly channels: string; readonly messages: string };
  /** In its channel names, its texts and its key's name: a canary's data is recognised by it. */
  readonly marker: string;
}

/** The API as the operator and as nobody in particular (a tenant's client is made with its key). */
export interface ApiClients {
  readonly admin: ApiClient;
  readonly anonymous: ApiClient;
}

export async function plantTenant(
  api: ApiClients,
  platform: Pick<Platform, 'channels' | 'messages'>,
  label: string,
): Promise<TenantFixture> {
  const marker = `${label}-${randomBytes(6).toString('hex')}`;
  const tenant = await expectStatus(api.admin.post('/v1/tenants', { name: `Clínica ${marker}` }), 201);
  const tenantId: string = tenant.id;
  const issued = await expectStatus(
    api.admin.post(`/v1/tenants/${tenantId}/api-keys`, { name: `key ${marker}`, scopes: ['*'] }),
    201,
  );
  const client = api.anonymous.as(issued.key);
  const channel = async (role: string) =>
    (await expectStatus(client.post('/v1/channels', { name: `${role} ${marker}` }), 201)).id as string;
  const channels = {
    sendable: await channel('Recepção'),
    idle: await channel('Financeiro'),
    disposable: await channel('Antigo'),
  };

  // What the channel's runner writes when it takes the connect command.
  await platform.channels.transition(tenantId, channels.sendable, {
    from: 'disconnected',
    to: 'connecting',
    expectedVersion: 1,
    at: new Date().toISOString(),
  });
  const outbound: string[] = [];
  for (const body of [`Sua consulta é amanhã ${marker}`, `Confirma? ${marker}`]) {
    const sent = await expectStatus(
      client.post(`/v1/channels/${channels.sendable}/messages`, {
        to: '+5511987650001',
        type: 'text',
        text: { body },
      }),
      202,
    );
    outbound.push(sent.id);
  }
  // What the runner records when a patient writes.
  const { message: inbound } = receivedText(tenantId, channels.sendable, new Date(), {
    body: `Posso remarcar? ${marker}`,
  });
  await platform.messages.put(inbound);

  const channelPage = await expectStatus(client.get('/v1/channels?limit=1'), 200);
  const messagePage = await expectStatus(
    client.get(`/v1/channels/${channels.sendable}/messages?limit=1`),
    200,
  );
  return {
    tenantId,
    key: issued.key,
    keyId: issued.id,
    client,
    channels,
    messages: { outbound, inbound: inbound.id },
    cursors: { channels: channelPage.nextCursor, messages: messagePage.nextCursor },
    marker,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the body is whatever the API answered; callers read its fields.
async function expectStatus(response: Promise<{ status: number; body: any }>, status: number): Promise<any> {
  const answer = await response;
  if (answer.status !== status) {
    throw new Error(
      `setting up a tenant: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}`,
    );
  }
  return answer.body;
}
