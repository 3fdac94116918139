// Which writes to a tenant's partition the API's successful answers account for, so that any other
// change found after a run was made by a request the API refused (or by nobody it should have).
import type { PartitionChange } from './partition-snapshot.ts';

export class WriteLedger {
  /** Per tenant: sort keys a successful request may have added or changed. */
  private readonly allowed = new Map<string, Set<string>>();
  /**
   * Messages a successful send created; their WhatsApp-id index item is theirs too, and so is the
   * claim on the send's Idempotency-Key (`SEND_REQUEST#…`, naming the message), when it had one.
   */
  private readonly sentMessages = new Set<string>();
  /** Per tenant: sort key prefixes a successful request may have written under (a recovery's deliveries). */
  private readonly allowedPrefixes = new Map<string, Set<string>>();
  /** Per tenant: sort keys a successful request may have removed (a deleted webhook). */
  private readonly removable = new Map<string, Set<string>>();

  /**
   * Notes what a 2xx answer wrote: in the partition of the tenant its path names (the operator's
   * routes), else of the tenant that asked. Routes not listed write nothing of a tenant's.
   */
  record(askingTenantId: string, operationId: string, params: Record<string, string>, body: unknown): void {
    const id = (body as { id?: unknown } | undefined)?.id;
    const tenantId = params.tenantId ?? askingTenantId;
    const allow = (sk: string) => {
      const keys = this.allowed.get(tenantId) ?? new Set<string>();
      keys.add(sk);
      this.allowed.set(tenantId, keys);
    };
    const add = (map: Map<string, Set<string>>, value: string) =>
      map.set(tenantId, (map.get(tenantId) ?? new Set<string>()).add(value));
    switch (operationId) {
      case 'createWebhook':
        allow(`WEBHOOK#${String(id)}`);
        allow('WEBHOOKS');
        break;
      case 'updateWebhook':
      case 'rotateWebhookSecret':
        allow(`WEBHOOK#${params.webhookId}`);
        break;
      case 'deleteWebhook':
        add(this.removable, `WEBHOOK#${params.webhookId}`);
        allow('WEBHOOKS');
        break;
      case 'testWebhook':
        allow(`DLV#${params.webhookId}#${String(id)}`);
        break;
      case 'redeliver':
        allow(`DLV#${params.webhookId}#${params.deliveryId}`);
        break;
      case 'recoverDeliveries':
        add(this.allowedPrefixes, `DLV#${params.webhookId}#`);
        break;
      case 'eraseTenant':
        allow('TENANT');
        break;
      case 'createApiKey':
      case 'createOwnApiKey':
        allow(`APIKEY#${String(id)}`);
        break;
      case 'revokeApiKey':
      case 'revokeOwnApiKey':
        allow(`APIKEY#${params.keyId}`);
        break;
      case 'createChannel':
        allow(`CHANNEL#${String(id)}`);
        break;
      case 'deleteChannel':
        allow(`CHANNEL#${params.channelId}`);
        break;
      case 'sendMessage':
        allow(`MSG#${params.channelId}#${String(id)}`);
        this.sentMessages.add(String(id));
        break;
      case 'checkContacts':
        allow(`CHECK#${String(id)}`);
        break;
    }
  }

  /** The changes no successful answer accounts for (the API removes nothing but deleted webhooks). */
  unexplained(tenantId: string, changes: readonly PartitionChange[]): PartitionChange[] {
    const allowed = this.allowed.get(tenantId) ?? new Set<string>();
    const prefixes = [...(this.allowedPrefixes.get(tenantId) ?? [])];
    const removable = this.removable.get(tenantId) ?? new Set<string>();
    return changes.filter((change) => {
      if (change.kind === 'removed') return !removable.has(change.sk);
      if (allowed.has(change.sk) || prefixes.some((prefix) => change.sk.startsWith(prefix))) return false;
      const indexedMessage = change.after?.messageId;
      const isSendIndex =
        change.kind === 'added' &&
        (change.sk.startsWith('WAMSG#') || change.sk.startsWith('SEND_REQUEST#')) &&
        this.sentMessages.has(String(indexedMessage));
      return !isSendIndex;
    });
  }
}
