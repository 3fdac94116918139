// What the events benchmark sends and what must come of it: three clinics (tenants) with channels,
// webhooks with and without filters, a stream of the runner's usual events across them, the
// deliveries those events must make (worked out here from the webhooks' settings, apart from the
// dispatcher's own rule), and the check of what a receiver got against them: each delivery exactly
// once, verified with its webhook's secret, nothing else.
import { type EventType, type PlatformEvent, platformEvent } from '#shared/domain/events.ts';
import { newId } from '#shared/domain/ids.ts';
import { deliveryIdOf } from '#shared/domain/webhook.ts';
import type { Arrival } from './receiver.ts';

export interface ClinicSpec {
  readonly name: string;
  readonly channels: number;
  /** Its webhooks: the event types they subscribe ('*' for all) and which of its channels (by index; null: all). */
  readonly webhooks: readonly {
    readonly events: readonly string[];
    readonly channels: readonly number[] | null;
  }[];
  /** Its share of the events, out of the sum of every clinic's. */
  readonly weight: number;
}

/**
 * Two clinics with webhooks (one with a filtered second webhook) and one without: 13 groups of order
 * (webhook and channel) for the dispatcher's ordered queue, and events no webhook wants.
 */
export const CLINICS: readonly ClinicSpec[] = [
  {
    name: 'Clínica Bench A',
    channels: 6,
    webhooks: [
      { events: ['*'], channels: null },
      { events: ['message.received'], channels: [0, 1, 2] },
    ],
    weight: 3,
  },
  {
    name: 'Clínica Bench B',
    channels: 4,
    webhooks: [{ events: ['message.status', 'channel.status'], channels: null }],
    weight: 1,
  },
  { name: 'Clínica Bench C', channels: 2, webhooks: [], weight: 1 },
];

export interface BenchWebhook {
  readonly id: string;
  readonly tenantId: string;
  readonly events: readonly string[];
  /** null: every channel (and events of none). */
  readonly channelIds: readonly string[] | null;
  /** Its signing secret (`whsec_…`). */
  readonly secret: string;
}

export interface BenchClinic {
  readonly tenantId: string;
  readonly channelIds: readonly string[];
  readonly webhooks: readonly BenchWebhook[];
  readonly weight: number;
}

/** One (event, webhook) pair the dispatcher must deliver. */
export interface ExpectedDelivery {
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly event: PlatformEvent;
  /** The dispatcher's order group: webhook and channel. */
  readonly group: string;
}

/** Whether a webhook wants an event, from its settings (the bench's own reading of API.md). */
export function wants(webhook: BenchWebhook, event: PlatformEvent): boolean {
  if (webhook.tenantId !== event.tenantId) return false;
  if (!webhook.events.includes('*') && !webhook.events.includes(event.type)) return false;
  return (
    webhook.channelIds === null || (event.channelId !== null && webhook.channelIds.includes(event.channelId))
  );
}

export function expectedDeliveries(
  clinics: readonly BenchClinic[],
  events: readonly PlatformEvent[],
): ExpectedDelivery[] {
  const webhooks = clinics.flatMap((clinic) => clinic.webhooks);
  return events.flatMap((event) =>
    webhooks
      .filter((webhook) => wants(webhook, event))
      .map((webhook) => ({
        deliveryId: deliveryIdOf(event.id, webhook.id),
        webhookId: webhook.id,
        event,
        group: `${webhook.id}#${event.channelId ?? '-'}`,
      })),
  );
}

/** Event types in a runner's proportions: mostly statuses and received messages, a channel status now and then. */
const TYPE_CYCLE: readonly EventType[] = [
  'message.status',
  'message.received',
  'message.status',
  'message.received',
  'message.status',
  'message.status',
  'message.received',
  'message.status',
  'message.received',
  'channel.status',
];

/** The lease the bench's events are numbered under (a runner's fence token; tenants are new each run). */
export const BENCH_EPOCH = 1;

/**
 * A stream of `count` events over the clinics by weight, each clinic's channels and event types
 * taken in turn. `serial` numbers them across the run (texts and phone numbers differ per event).
 * Ids are monotonic ULIDs: made in this order, they sort in it. Each event carries its place in its
 * channel's order as a runner numbers it (`sequence`: 1, 2, 3… per channel), which the fan-out keeps.
 */
export class EventStream {
  private serial = 0;
  private readonly perClinic: number[];
  private readonly perChannel = new Map<string, number>();
  private readonly slots: number[];

  constructor(private readonly clinics: readonly BenchClinic[]) {
    this.perClinic = clinics.map(() => 0);
    this.slots = clinics.flatMap((clinic, index) => Array.from({ length: clinic.weight }, () => index));
  }

  next(): PlatformEvent {
    const event = this.make();
    if (event.channelId === null) return event;
    const seq = (this.perChannel.get(event.channelId) ?? 0) + 1;
    this.perChannel.set(event.channelId, seq);
    return { ...event, sequence: { epoch: BENCH_EPOCH, seq } };
  }

  private make(): PlatformEvent {
    const n = this.serial++;
    const index = this.slots[n % this.slots.length] ?? 0;
    const clinic = this.clinics[index] as BenchClinic;
    const k = this.perClinic[index] ?? 0;
    this.perClinic[index] = k + 1;
    const channelId = clinic.channelIds[k % clinic.channelIds.length] ?? null;
    const type = TYPE_CYCLE[k % TYPE_CYCLE.length] as EventType;
    const scope = { tenantId: clinic.tenantId, channelId };
    const phone = `+55119${String(10_000_000 + (n % 90_000_000)).padStart(8, '0')}`;
    const now = new Date();
    if (type === 'message.received') {
      return platformEvent(type, scope, {
        messageId: newId('message'),
        from: { phoneNumber: phone, lid: null, name: null },
        timestamp: now.toISOString(),
        type: 'text',
        content: { text: { body: `Olá! Posso remarcar minha consulta de amanhã para as 15h? (${n})` } },
      });
    }
    if (type === 'message.status') {
      return platformEvent(type, scope, {
        messageId: newId('message'),
        status: (['sent', 'delivered', 'read'] as const)[k % 3] ?? 'delivered',
        timestamp: now.toISOString(),
        recipient: { phoneNumber: phone, lid: null },
      });
    }
    return platformEvent('channel.status', scope, {
      status: 'open',
      previousStatus: 'connecting',
    });
  }

  take(count: number): PlatformEvent[] {
    return Array.from({ length: count }, () => this.next());
  }
}

export interface DeliveryCheck {
  readonly expected: number;
  /** Expected deliveries that came, verified, at least once. */
  readonly delivered: number;
  /** Requests beyond the first of a delivery (an expected one, or not). */
  readonly duplicates: number;
  /** Expected deliveries that never came verified. */
  readonly missing: number;
  /** Requests for no expected delivery (another tenant's, an unwanted type or channel, or unknown). */
  readonly unexpected: number;
  /** Requests `Webhook.verify` refused, or whose id or event is not the delivery's. */
  readonly unverified: number;
  /**
   * Deliveries that came after a later event's of their group (webhook and channel): not a failure
   * (a gap the fan-out waited out goes on without the missing event, which arrives late), but what
   * the fan-out's hold and the ordered queue are for.
   */
  readonly outOfOrder: number;
  /** Every delivery exactly once, verified, and nothing else. */
  readonly ok: boolean;
  /** A few of each kind of failure, by delivery id, to start looking from. */
  readonly examples: Record<string, string[]>;
}

/** What `arrivals` make of `expected`: duplicates, misses, strangers and bad signatures are failures. */
export function checkDeliveries(
  expected: readonly ExpectedDelivery[],
  arrivals: readonly Arrival[],
): DeliveryCheck {
  const byId = new Map(
    expected.map((delivery) => [`${delivery.webhookId}/${delivery.deliveryId}`, delivery]),
  );
  const seen = new Map<string, number>();
  const examples: Record<string, string[]> = { duplicates: [], missing: [], unexpected: [], unverified: [] };
  const note = (kind: string, id: string) => {
    const list = examples[kind] ?? [];
    if (list.length < 5) list.push(id);
    examples[kind] = list;
  };
  let duplicates = 0;
  let unexpected = 0;
  let unverified = 0;
  const groups = new Map<string, string[]>();
  for (const arrival of arrivals) {
    const key = `${arrival.webhookId}/${arrival.messageId}`;
    const delivery = byId.get(key);
    if (!delivery) {
      unexpected++;
      note('unexpected', key);
      continue;
    }
    if (!arrival.verified || arrival.eventId !== delivery.event.id) {
      unverified++;
      note('unverified', key);
      continue;
    }
    const times = (seen.get(key) ?? 0) + 1;
    seen.set(key, times);
    if (times > 1) {
      duplicates++;
      note('duplicates', key);
      continue;
    }
    const order = groups.get(delivery.group) ?? [];
    order.push(delivery.event.id);
    groups.set(delivery.group, order);
  }
  let missing = 0;
  for (const [key] of byId) {
    if (seen.has(key)) continue;
    missing++;
    note('missing', key);
  }
  let outOfOrder = 0;
  for (const order of groups.values()) {
    for (let i = 1; i < order.length; i++) if ((order[i] as string) < (order[i - 1] as string)) outOfOrder++;
  }
  return {
    expected: expected.length,
    delivered: seen.size,
    duplicates,
    missing,
    unexpected,
    unverified,
    outOfOrder,
    ok: duplicates === 0 && missing === 0 && unexpected === 0 && unverified === 0,
    examples,
  };
}
