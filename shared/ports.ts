// The interfaces use cases depend on. Adapters (shared/aws/…) implement them against AWS; tests and
// the local platform point those adapters at the emulator.
import type { ApiKey } from './domain/api-key.ts';
import type {
  Channel,
  ChannelCounts,
  ChannelPairing,
  ChannelStatus,
  ChannelStatusDetails,
  ChannelSummary,
} from './domain/channel.ts';
import type { ChannelCommand } from './domain/commands.ts';
import type { ChannelCursor, EventSequence } from './domain/event-sequence.ts';
import type { EventType, MessageStatus, PlatformEvent } from './domain/events.ts';
import type { Fence } from './domain/fence.ts';
import type { Message, StatusChange } from './domain/message.ts';
import type { Page, PageRequest } from './domain/pagination.ts';
import type { SendClaim } from './domain/send-claim.ts';
import type { ShardOwnershipRecords } from './domain/shard-ownership.ts';
import type { Tenant, TenantStatus } from './domain/tenant.ts';
import type {
  Delivery,
  DeliveryAttempt,
  DeliveryStatus,
  Webhook,
  WebhookDisabledReason,
  WebhookEventFilter,
  WebhookSecret,
  WebhookStatus,
} from './domain/webhook.ts';

export interface TenantRepository {
  create(tenant: Tenant): Promise<void>;
  /** null when absent. */
  get(tenantId: string): Promise<Tenant | null>;
  /** All tenants, oldest first (operator view). */
  list(request: PageRequest): Promise<Page<Tenant>>;
  setStatus(tenantId: string, status: TenantStatus): Promise<Tenant>;
}

export interface ApiKeyRepository {
  create(key: ApiKey): Promise<void>;
  get(tenantId: string, keyId: string): Promise<ApiKey | null>;
  list(tenantId: string, request: PageRequest): Promise<Page<ApiKey>>;
  /** Marks the key revoked; revoking twice or an absent key is a not-found. */
  revoke(tenantId: string, keyId: string, revokedAt: string): Promise<ApiKey>;
}

export interface StatusTransition {
  readonly from: ChannelStatus;
  /** The version read with `from`; a write made since then makes the transition stale. */
  readonly expectedVersion: number;
  readonly to: ChannelStatus;
  readonly details?: ChannelStatusDetails;
  readonly at: string;
}

/**
 * How a runner writes for a shard it holds: with the shard's fence, the write lands only while the
 * runner still holds the lease at that token (else `StaleFenceError`). The API never passes one.
 */
export interface WriteOptions {
  readonly fence?: Fence;
}

export interface ChannelRepository {
  create(channel: Channel): Promise<void>;
  get(tenantId: string, channelId: string): Promise<Channel | null>;
  /** The tenant's channels, oldest first. */
  list(tenantId: string, request: PageRequest): Promise<Page<Channel>>;
  /**
   * Channels of one command shard across tenants: what a runner owning the shard serves. Deleted
   * channels are listed until their deletion is complete (`completeDeletion`): see `shardDutyFor`.
   */
  listByShard(shard: number, request: PageRequest): Promise<Page<Channel>>;
  /** Conditional on the status and version read; a stale or forbidden transition is a conflict. */
  transition(
    tenantId: string,
    channelId: string,
    transition: StatusTransition,
    options?: WriteOptions,
  ): Promise<Channel>;
  /** Keeps the QR or pairing code the runner shows, for the API to serve while it is valid. */
  recordPairing(
    tenantId: string,
    channelId: string,
    pairing: ChannelPairing,
    options?: WriteOptions,
  ): Promise<void>;
  /** Hides the channel from the API while its runner erases its session; a second call is a not-found. */
  markDeleted(tenantId: string, channelId: string, at: string): Promise<void>;
  /**
   * The runner erased a deleted channel's session: the channel leaves its shard's list, so no runner
   * taking the shard has work for it again (the item stays, hidden). False, and nothing changed, when
   * the channel is not marked deleted (yet); a second call changes nothing and answers true.
   */
  completeDeletion(tenantId: string, channelId: string, at: string, options?: WriteOptions): Promise<boolean>;
}

/** Narrows the operator's channel list: one tenant's, one status. */
export interface ChannelDirectoryFilter {
  readonly tenantId?: string;
  readonly status?: ChannelStatus;
}

/**
 * Channels across tenants, for the operator (never for a tenant's key): read-only, and reading no
 * pairing secret. Deleted channels are left out.
 */
export interface ChannelDirectory {
  /** One tenant's channels oldest first; across tenants by shard, then oldest first within a shard. */
  list(request: PageRequest & ChannelDirectoryFilter): Promise<Page<ChannelSummary>>;
  /** Live channels per tenant and status, reading at most a bounded number of channels. */
  count(filter: Pick<ChannelDirectoryFilter, 'tenantId'>): Promise<ChannelCounts>;
}

/** The runners' lease and membership records of one cluster, read as they are (read-only). */
export interface ShardOwnershipReader {
  readonly cluster: string;
  /** The leases of shards `0 … shardCount − 1` that exist, and every membership item. */
  read(shardCount: number): Promise<ShardOwnershipRecords>;
}

export interface EventPublisher {
  /** Publishes every event or throws; events are at-least-once, receivers dedupe by id. */
  publish(events: readonly PlatformEvent[]): Promise<void>;
}

export interface CommandBus {
  /** Durable once resolved: the command is in its shard's queue, in its channel's order. */
  send(command: ChannelCommand, shard: number): Promise<void>;
}

/** An event stored with the record it reports, to be published from there (see `EventOutbox`). */
export interface OutboxEntry {
  /** The shard of the record's channel: the runner holding the shard drains its outbox. */
  readonly shard: number;
  readonly event: PlatformEvent<'message.received'>;
}

/** Narrows a channel's messages to one contact (E.164) or one direction. */
export interface MessageFilter {
  readonly contact?: string;
  readonly direction?: Message['direction'];
}

export interface MessageRepository {
  /**
   * Stores a new message, with its event in the outbox when `outbox` is given (one write); false
   * when it already exists (a redelivered message). `StoreRejectedError` when the store refuses what
   * the record holds (the same record is refused every time).
   */
  put(
    message: Message,
    options?: WriteOptions & { expiresAt?: number; outbox?: OutboxEntry },
  ): Promise<boolean>;
  get(tenantId: string, channelId: string, messageId: string): Promise<Message | null>;
  findByWaMessageId(tenantId: string, channelId: string, waMessageId: string): Promise<Message | null>;
  /** Our id and direction of the message WhatsApp knows by `waMessageId`, in one read. */
  resolveWaMessageId(
    tenantId: string,
    channelId: string,
    waMessageId: string,
  ): Promise<{ messageId: string; direction: Message['direction'] } | null>;
  /**
   * Moves the status forward and appends it to the history (after `passedThrough`, the steps taken
   * on the way); null when it would not move forward, or when `onlyFrom` is given and the current
   * status is another.
   */
  advanceStatus(
    tenantId: string,
    channelId: string,
    messageId: string,
    change: StatusChange,
    options?: { onlyFrom?: MessageStatus; passedThrough?: readonly StatusChange[] },
  ): Promise<Message | null>;
  /** A channel's messages, newest first. */
  list(tenantId: string, channelId: string, request: PageRequest & MessageFilter): Promise<Page<Message>>;
  /**
   * Stores a send's new `queued` message together with its claim on the request's key, in one write;
   * `claim` when written. When the tenant's key is claimed already (unexpired at `claim.issuedAt`),
   * writes nothing and returns that earlier claim. API sends only.
   */
  putQueuedOnce(message: Message, claim: SendClaim): Promise<SendClaim>;
  /** The tenant's claim on `requestKey`, unless absent or expired at `at`. */
  getSendClaim(tenantId: string, requestKey: string, at: Date): Promise<SendClaim | null>;
  /**
   * Gives up a claimed send whose command could not be queued: its message `failed` with `failure`
   * and the claim deleted, in one write, so the key may send anew. Only from `queued`: false, and
   * nothing written, once the message left it (the claim stays for a re-execution to find).
   */
  failQueuedAndReleaseClaim(
    claim: SendClaim,
    failure: StatusChange & { readonly status: 'failed' },
  ): Promise<boolean>;
}

/** Where a waiting event is: its message, and its id (the outbox's order: by creation). */
export interface OutboxRef {
  readonly eventId: string;
  readonly tenantId: string;
  readonly channelId: string;
  readonly messageId: string;
}

/**
 * Events written with their messages and not yet published: whoever holds the shard publishes them
 * (and marks them) until none is left, so a publish that failed or a runner that died in between
 * loses no event. Ids are stable: a republished event has its first id.
 */
export interface EventOutbox {
  /**
   * One page of the shard's waiting events, oldest first, as references only; `after` is the last
   * reference of the page before. `more` when there may be another page.
   */
  waiting(
    shard: number,
    options: { limit: number; after?: OutboxRef },
  ): Promise<{ refs: OutboxRef[]; more: boolean }>;
  /** The events of `refs` still waiting, read from their messages (any published meanwhile is left out). */
  eventsOf(refs: readonly OutboxRef[]): Promise<PlatformEvent<'message.received'>[]>;
  /** The event still waiting with one message, or null (none, or published already). */
  pendingOf(
    tenantId: string,
    channelId: string,
    messageId: string,
  ): Promise<PlatformEvent<'message.received'> | null>;
  markPublished(tenantId: string, channelId: string, messageId: string, at: Date): Promise<void>;
}

export interface StoredMedia {
  readonly data: Buffer;
  readonly mimeType: string;
  readonly fileName: string | null;
}

/** A file the store kept: its id, and its bytes' count and SHA-256 (hex), counted as they went in. */
export interface StoredMediaObject {
  readonly mediaId: string;
  readonly size: number;
  readonly sha256: string;
}

export interface MediaStream {
  readonly body: AsyncIterable<Uint8Array>;
  readonly mimeType: string;
  readonly fileName: string | null;
  /** Past this many bytes the store stops reading, keeps nothing and throws `MediaTooLargeError`. */
  readonly maxBytes: number;
}

/**
 * Media bytes of a tenant. A file name or type the store cannot keep as it is (too long for object
 * metadata, not a media type) is shortened or replaced there; the caller's record keeps the original.
 * A write the store refuses for what it would hold fails with `StoreRejectedError`.
 */
export interface MediaStore {
  /** Stores bytes under a new media id of the tenant. */
  put(tenantId: string, media: StoredMedia): Promise<string>;
  /**
   * Stores a stream of any length under a new media id without holding it in memory; a failure
   * (of the source or the store) leaves no object behind. Errors of the source are rethrown as is.
   * Answers what was stored: its id, and the size and SHA-256 of the bytes as they were read.
   */
  putStream(tenantId: string, media: MediaStream): Promise<StoredMediaObject>;
  /** null when absent, or when the id belongs to another tenant. */
  get(tenantId: string, mediaId: string): Promise<StoredMedia | null>;
  /** What is stored under the id, without its bytes; null as for `get`. */
  describe(tenantId: string, mediaId: string): Promise<MediaDescription | null>;
  /**
   * A new media id and a URL the client uploads exactly `size` bytes of `mimeType` to with one PUT
   * (and the headers it must send), valid for `expiresInSeconds`.
   */
  presignUpload(
    tenantId: string,
    media: { mimeType: string; fileName: string | null; size: number },
    expiresInSeconds: number,
  ): Promise<{ mediaId: string; url: string; headers: Record<string, string> }>;
  /** A URL that downloads the media, valid for `expiresInSeconds`. */
  presignDownload(tenantId: string, mediaId: string, expiresInSeconds: number): Promise<string>;
}

export interface MediaDescription {
  readonly mimeType: string;
  readonly fileName: string | null;
  readonly size: number;
}

export interface ContactCheckResult {
  readonly phoneNumber: string;
  readonly onWhatsApp: boolean;
  readonly lid: string | null;
}

/**
 * Answers of `check_numbers` commands: the runner that owns the channel asks WhatsApp and stores the
 * answer under the command id; the API, which sent the command, reads it back.
 */
export interface ContactCheck {
  /** The channel the check was asked through (null for a check no API request started). */
  readonly channelId: string | null;
  /** null while the runner has not answered. */
  readonly results: ContactCheckResult[] | null;
}

export interface ContactCheckRepository {
  /** Records that a check was asked, before its command is sent. */
  start(tenantId: string, checkId: string, channelId: string): Promise<void>;
  put(tenantId: string, checkId: string, results: readonly ContactCheckResult[]): Promise<void>;
  /** The answer, or null while there is none. */
  get(tenantId: string, checkId: string): Promise<ContactCheckResult[] | null>;
  find(tenantId: string, checkId: string): Promise<ContactCheck | null>;
}

/** Fields of a webhook the clinic may change; absent ones stay. */
export interface WebhookChanges {
  readonly url?: string;
  readonly description?: string | null;
  readonly events?: readonly WebhookEventFilter[];
  readonly channelIds?: readonly string[] | null;
  readonly status?: WebhookStatus;
  readonly disabledReason?: WebhookDisabledReason | null;
  readonly secrets?: readonly WebhookSecret[];
  readonly failingSince?: string | null;
  /** When the change is made (the repository's clock when absent). */
  readonly updatedAt?: string;
}

/** Whose signing secret: what a sealed secret is bound to (the KMS encryption context names both). */
export interface WebhookSecretOwner {
  readonly tenantId: string;
  readonly webhookId: string;
}

/**
 * Seals webhook signing secrets to be kept, and opens them to sign (shared/aws/
 * kms-webhook-secret-cipher.ts: KMS under the webhook-secrets key, which only the webhooks function
 * and the dispatcher may use). A sealed secret opens for the owner it was sealed for only: copied to
 * another webhook or tenant, it does not open.
 */
export interface WebhookSecretCipher {
  seal(owner: WebhookSecretOwner, secret: string): Promise<string>;
  /** The secret in clear; rejects when `sealed` was not sealed for `owner`, or cannot be opened now. */
  open(owner: WebhookSecretOwner, sealed: string): Promise<string>;
}

export interface WebhookRepository {
  /** Fails with a conflict when the tenant has `MAX_WEBHOOKS_PER_TENANT` already. */
  create(webhook: Webhook): Promise<void>;
  /** null when absent or another tenant's. */
  get(tenantId: string, webhookId: string): Promise<Webhook | null>;
  /** The tenant's webhooks, oldest first. */
  list(tenantId: string, request: PageRequest): Promise<Page<Webhook>>;
  /** Every webhook of the tenant (at most `MAX_WEBHOOKS_PER_TENANT`): what the dispatcher matches events against. */
  listAll(tenantId: string): Promise<Webhook[]>;
  /** Applies `changes` if the webhook is still at `expectedVersion` (conflict otherwise); the new webhook. */
  update(
    tenantId: string,
    webhookId: string,
    expectedVersion: number,
    changes: WebhookChanges,
  ): Promise<Webhook>;
  /** Not-found when absent. Its deliveries stay until they expire. */
  delete(tenantId: string, webhookId: string): Promise<void>;
}

/** Filters of the deliveries list. */
export interface DeliveryFilter {
  readonly status?: DeliveryStatus;
  /**
   * Deliveries of events created at or after this instant (ISO-8601). The event's time, not the
   * delivery's: a delivery's id begins with its event's, so deliveries are stored in event order and
   * `since` is a key range, not a filter that reads everything older to skip it; and "since the
   * receiver went down" is a question about events.
   */
  readonly since?: string;
}

export interface DeliveryCreateOptions {
  /** The tenant's `retentionDays`: the delivery expires no later than its event does (`deliveryExpiry`). */
  readonly retentionDays?: number | null;
}

/** Which try of a delivery: its `attemptCount` and `generation` (round) then. */
export interface DeliveryTry {
  readonly attemptCount: number;
  readonly generation: number;
}

export interface DeliveryRepository {
  /**
   * Stores a new delivery; false when one with its id exists (a duplicate event). A delivery of a
   * QR or a pairing code is stored without the secret (`storedEventOf`: its `data` keeps `expiresAt`
   * only), so it must be tried from the event in hand; read back, it cannot be sent again.
   */
  create(delivery: Delivery, options?: DeliveryCreateOptions): Promise<boolean>;
  get(tenantId: string, webhookId: string, deliveryId: string): Promise<Delivery | null>;
  /** A webhook's deliveries, newest first (by event: see `DeliveryFilter.since`). */
  list(tenantId: string, webhookId: string, request: PageRequest & DeliveryFilter): Promise<Page<Delivery>>;
  /**
   * Records a try and what follows it (status, next try); the delivery as it now is. Appends the try
   * (keeping the latest `MAX_ATTEMPTS_KEPT`) and counts it in `attemptCount` and `roundAttemptCount`,
   * atomically against any other write to the delivery. Not-found when absent.
   */
  recordAttempt(
    tenantId: string,
    webhookId: string,
    deliveryId: string,
    attempt: DeliveryAttempt,
    next: { status: DeliveryStatus; nextAttemptAt: string | null },
    /**
     * The try this records (the one `claimTry` claimed): a conflict (`delivery_moved_on`) when the
     * delivery has been tried or reopened since, and nothing is written. Clears the claim.
     */
    expected?: DeliveryTry,
  ): Promise<Delivery>;
  /**
   * Claims a delivery's try for `until`: on condition that it is pending, at the expected try
   * (`attemptCount` and `generation`) and not claimed by another until later than now. The
   * claimed delivery; else the delivery as it is (null when absent), for the caller to decide.
   */
  claimTry(
    tenantId: string,
    webhookId: string,
    deliveryId: string,
    expected: DeliveryTry,
    at: string,
    until: string,
  ): Promise<{ claimed: true; delivery: Delivery } | { claimed: false; delivery: Delivery | null }>;
  /**
   * Puts a delivery back to `pending`, due at `at`, for a new round of tries (`roundAttemptCount`
   * back to 0, `generation` one more, any claim released: jobs of earlier rounds are stale; its
   * expiry unchanged, never extended). Any status may be reopened (a pending one
   * whose job was lost, too) unless `onlyFrom` names the one it must be in: a conflict otherwise.
   * Not-found when absent.
   */
  reopen(
    tenantId: string,
    webhookId: string,
    deliveryId: string,
    at: string,
    options?: { onlyFrom?: DeliveryStatus },
  ): Promise<Delivery>;
}

/** One signed POST of a delivery to its webhook (Standard Webhooks): what the dispatcher sends per try. */
export interface WebhookRequest {
  readonly url: string;
  /** The delivery id: the `webhook-id` header, the same on every try. */
  readonly deliveryId: string;
  /** The secrets valid now (`signingSecrets`), newest first, opened: one `v1,` signature each. */
  readonly secrets: readonly string[];
  /** The JSON body, signed as it is sent: the event envelope. */
  readonly body: string;
  /** A shorter deadline than `DELIVERY_TIMEOUT_MS` (a QR that expires sooner); never a longer one. */
  readonly timeoutMs?: number;
}

/** What one try came to. Never thrown: a receiver's failure is an outcome, not an error. */
export interface WebhookResponse {
  /** null when no response came (see `error`). */
  readonly statusCode: number | null;
  readonly latencyMs: number;
  /**
   * Why no response came: `timeout`, `address_refused`, `url_refused`, `dns_error`,
   * `connection_refused`, `connection_reset`, `tls_error`, `invalid_response`, `connection_error`;
   * null when one came (`judgeResponse` judges it).
   */
  readonly error: string | null;
  /** The start of the body, at most `RESPONSE_EXCERPT_BYTES` of UTF-8. */
  readonly responseExcerpt: string | null;
  readonly retryAfter: string | null;
}

export interface WebhookSender {
  send(request: WebhookRequest): Promise<WebhookResponse>;
}

/**
 * A delivery to try, when: what the dispatcher's queues carry. A job is only a pointer: the delivery
 * it names says whether it is still to be tried, and when (docs/architecture.md, "Webhooks").
 */
export interface DeliveryJob {
  readonly tenantId: string;
  readonly webhookId: string;
  readonly deliveryId: string;
  /** Group for ordering: deliveries of one webhook and one channel go in order while they succeed. */
  readonly orderKey: string;
  /**
   * The delivery's `attemptCount` when the job was queued. A job whose delivery has been tried since
   * is stale and dropped, so a job queued twice (a crash, a redelivery asked while one waited) costs
   * at most one extra try; a job ahead of its delivery waits for the try it follows to be recorded.
   */
  readonly attemptCount: number;
  /** The delivery's `generation` when the job was queued: a job of an earlier round is stale. */
  readonly generation: number;
  /** The delivery's `nextAttemptAt` when the job was queued (ISO-8601): when to try. */
  readonly dueAt: string;
}

/**
 * Jobs without a delay are first tries (and redeliveries): in order of `orderKey`. Jobs with one are
 * retries and waits, in no order, so a failing delivery never holds back the ones behind it.
 */
export interface DeliveryQueue {
  /** Durable once resolved; `delayMs` may exceed what the queue can delay (the dispatcher waits again). */
  enqueue(jobs: readonly DeliveryJob[], options?: { delayMs?: number }): Promise<void>;
}

/**
 * The webhook fan-out's place in each channel's order (shared/domain/event-sequence.ts): the last
 * event it fanned out, per channel.
 */
export interface EventSequenceCursors {
  /** The channel's cursor, read consistently; null when nothing was fanned out with one yet. */
  get(tenantId: string, channelId: string): Promise<ChannelCursor | null>;
  /**
   * Moves the cursor to `to` only if it is still `from` (null: there is none), in one conditional
   * write; false when it was not (another fan-out moved it meanwhile).
   */
  advance(
    tenantId: string,
    channelId: string,
    from: EventSequence | null,
    to: EventSequence,
  ): Promise<boolean>;
}

/** A message a consumer received and holds (SQS: its queue's ARN and the receive's handle). */
export interface ReceivedMessageRef {
  readonly queueArn: string;
  readonly receiptHandle: string;
}

/** Hands received messages back to their queue sooner than its visibility timeout would. */
export interface MessageVisibility {
  /** Each message becomes visible again `seconds` from now (SQS ChangeMessageVisibility). */
  showAgainIn(messages: readonly ReceivedMessageRef[], seconds: number): Promise<void>;
}

/** One event to keep, with what only its caller knows. */
export interface EventLogEntry {
  readonly event: PlatformEvent;
  /** The tenant's retention, which the caller looked up (the log does not read tenants). */
  readonly retentionDays: number;
  /**
   * Who delivers it (an SQS message id): when the event is found stored already by this same
   * delivery, an earlier attempt wrote it and may have landed late, so it is stored again.
   */
  readonly writer?: string;
}

/**
 * `recorded`; `rewritten`: stored (again) at a new position because a write was late or its
 * outcome unknown; `duplicate`: stored before by another delivery; `expired`: a pairing secret
 * already expired, not stored.
 */
export type EventLogOutcome = 'recorded' | 'rewritten' | 'duplicate' | 'expired';

export interface EventLogRequest extends PageRequest {
  /** An event id: the events that arrived after it (from the oldest kept when absent). */
  readonly after?: string;
  readonly types?: readonly EventType[];
  readonly channelId?: string;
}

/**
 * Where a tenant's events are kept for `GET /v1/events`, in order of arrival: paging after an event
 * id (or on with `nextCursor`) gives every event that arrived after it once, except that a write
 * that landed late is served a second time (shared/domain/event-log.ts).
 */
export interface EventLog {
  /** Stores events not stored before (by event id), each kept for its tenant's retention; one outcome each. */
  append(entries: readonly EventLogEntry[]): Promise<EventLogOutcome[]>;
  /**
   * Events after `after`, or after where `cursor` (a `nextCursor`) stopped, oldest first, narrowed
   * by type or channel. `after` naming no event of the tenant (absent, another tenant's, past
   * retention) is a not-found.
   */
  list(tenantId: string, request: EventLogRequest): Promise<Page<PlatformEvent>>;
}

/**
 * A tenant's own keys, rooted in the tenant's KMS key: content sealed at rest and the keyed hashes
 * that stand for contacts' phone numbers in keys and indexes. Scheduling the tenant's KMS key for
 * deletion (tenant erasure) makes everything sealed or hashed under it unreadable and unlinkable,
 * backups included.
 */
export interface TenantKeyring {
  /** AES-256-GCM under the tenant's content key, bound to `purpose` (e.g. `message`); opaque text. */
  seal(tenantId: string, plaintext: string, purpose: string): Promise<string>;
  /** Fails unless `sealed` was sealed for this tenant and `purpose`. */
  open(tenantId: string, sealed: string, purpose: string): Promise<string>;
  /**
   * HMAC-SHA256 of an E.164 number under a key of the tenant's (base64url, 43 characters): what keys,
   * indexes and tombstones hold instead of the number. The same number gives the same hash within a
   * tenant and unrelated hashes across tenants.
   */
  contactHash(tenantId: string, phoneNumber: string): Promise<string>;
}
