import type { MessageStatus, PlatformEvent } from '#shared/domain/events.ts';
import { platformEvent } from '#shared/domain/events.ts';
import type { StatusChange } from '#shared/domain/message.ts';
import type { EventPublisher, MessageRepository } from '#shared/ports.ts';
import type { ChannelEventSequence } from './channel-event-sequence.ts';

/** The delivery path in order; a later status implies the earlier ones. */
const DELIVERY_PATH: readonly MessageStatus[] = ['sent', 'delivered', 'read'];

type StatusError = { code: string; message: string };
type Scope = { tenantId: string; channelId: string };

/** A message's place in its line of statuses, taken before the status is known. */
export interface StatusTurn {
  record(status: MessageStatus, error?: StatusError): Promise<void>;
  /** Gives the turn up with nothing recorded. */
  release(): void;
}

/** One turn in a message's line: known once `status` is set (or the turn was released). */
interface Turn {
  known: boolean;
  status?: MessageStatus;
  error?: StatusError;
  settle(error?: unknown): void;
}

/**
 * Records an outbound message's new status and tells the clinic (`message.status`). Clinics always
 * see sent → delivered → read, each once: a status that skips steps (a receipt overtaking the
 * server's ack) records the skipped ones too.
 *
 * One recorder serves a shard, and each message's statuses take turns. A send takes its turn before
 * the stanza goes out, so a delivery receipt overtaking the ack waits behind it; when the ack comes,
 * both are recorded by one conditional write and published together. In the usual order each
 * status is one write from the step before it; only an unexpected state falls back to a write per
 * step.
 */
export class MessageStatusRecorder {
  private readonly lines = new Map<
    string,
    { scope: Scope; messageId: string; turns: Turn[]; busy: boolean }
  >();

  constructor(
    private readonly messages: MessageRepository,
    private readonly events: EventPublisher,
    private readonly sequence: ChannelEventSequence,
    private readonly now: () => Date = () => new Date(),
  ) {}

  record(scope: Scope, messageId: string, status: MessageStatus, error?: StatusError): Promise<void> {
    return this.reserve(scope, messageId).record(status, error);
  }

  /**
   * Takes the message's next turn now, for a status known later. Every turn must end with `record`
   * or `release`, or the message's later statuses wait for good.
   */
  reserve(scope: Scope, messageId: string): StatusTurn {
    const key = `${scope.tenantId}/${scope.channelId}/${messageId}`;
    let line = this.lines.get(key);
    if (!line) {
      line = { scope, messageId, turns: [], busy: false };
      this.lines.set(key, line);
    }
    let settle: (error?: unknown) => void = () => undefined;
    const settled = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    const turn: Turn = { known: false, settle };
    line.turns.push(turn);
    const complete = (status?: MessageStatus, error?: StatusError) => {
      if (turn.known) throw new Error('This status turn is used already');
      Object.assign(turn, { known: true, status, error });
      void this.advanceLine(key);
    };
    return {
      record: (status, error) => {
        complete(status, error);
        return settled;
      },
      release: () => {
        complete();
        settled.catch(() => undefined);
      },
    };
  }

  /** Records what the head of the line knows, with the known statuses right behind it. */
  private async advanceLine(key: string): Promise<void> {
    const line = this.lines.get(key);
    if (!line || line.busy) return;
    line.busy = true;
    try {
      while (line.turns[0]?.known) {
        const batch = takeKnown(line.turns);
        const statuses = batch.flatMap((turn) => (turn.status ? [turn] : []));
        try {
          if (statuses.length > 0) await this.recordTurns(line.scope, line.messageId, statuses);
          for (const turn of batch) turn.settle();
        } catch (error) {
          for (const turn of batch) turn.settle(error);
        }
      }
    } finally {
      line.busy = false;
      if (line.turns.length === 0) this.lines.delete(key);
    }
  }

  /** `turns` are known and in arrival order: path statuses merge into one write, others go alone. */
  private async recordTurns(scope: Scope, messageId: string, turns: Turn[]): Promise<void> {
    const published: PlatformEvent[] = [];
    let onPath: MessageStatus[] = [];
    const flushPath = async () => {
      if (onPath.length > 0) published.push(...(await this.recordPath(scope, messageId, onPath)));
      onPath = [];
    };
    for (const turn of turns) {
      const status = turn.status as MessageStatus;
      if (DELIVERY_PATH.includes(status) && !turn.error) {
        onPath.push(status);
        continue;
      }
      await flushPath();
      const events = await this.advance(scope, messageId, [{ status, ...this.at(), ...errorOf(turn) }]);
      if (events) published.push(...events);
    }
    await flushPath();
    // Numbered only now, when every write of the turns is done: a write that threw drops the events
    // made before it, and a number never published would hold the channel's webhooks.
    if (published.length > 0) await this.events.publish(await this.sequence.stamp(published));
  }

  /**
   * Records the furthest of `statuses` (all on the delivery path) with every step before it not yet
   * recorded: one write from the step before the earliest of them, else one write per step.
   */
  private async recordPath(scope: Scope, messageId: string, statuses: MessageStatus[]) {
    const rank = (status: MessageStatus) => DELIVERY_PATH.indexOf(status);
    const earliest = Math.min(...statuses.map(rank));
    const furthest = Math.max(...statuses.map(rank));
    const at = this.at();
    const steps = DELIVERY_PATH.slice(earliest, furthest + 1).map((status) => ({ status, ...at }));
    const before = earliest > 0 ? DELIVERY_PATH[earliest - 1] : 'queued';
    const direct = await this.advance(scope, messageId, steps, before);
    if (direct) return direct;
    if (furthest === 0) return []; // `sent` alone: the one write was the whole walk
    const walked = [];
    for (const step of DELIVERY_PATH.slice(0, furthest + 1)) {
      walked.push(...((await this.advance(scope, messageId, [{ status: step, ...this.at() }])) ?? []));
    }
    return walked;
  }

  /**
   * Records `steps` (the last is the new status) by one conditional write; their events once
   * recorded, undefined when it was not an advance (or the status was not `onlyFrom`).
   */
  private async advance(
    scope: Scope,
    messageId: string,
    steps: StatusChange[],
    onlyFrom?: MessageStatus,
  ): Promise<PlatformEvent[] | undefined> {
    const change = steps.at(-1) as StatusChange;
    const updated = await this.messages.advanceStatus(scope.tenantId, scope.channelId, messageId, change, {
      ...(onlyFrom ? { onlyFrom } : {}),
      ...(steps.length > 1 ? { passedThrough: steps.slice(0, -1) } : {}),
    });
    if (!updated) return undefined;
    return steps.map((step) =>
      platformEvent(
        'message.status',
        scope,
        {
          messageId,
          status: step.status,
          timestamp: step.at,
          // The address only: a received message's contact also holds the patient's push name.
          recipient: { phoneNumber: updated.contact.phoneNumber, lid: updated.contact.lid },
          ...(step.error ? { error: step.error } : {}),
        },
        new Date(step.at),
      ),
    );
  }

  private at(): { at: string } {
    return { at: this.now().toISOString() };
  }
}

/** The known turns at the head of the line, taken off it. */
function takeKnown(turns: Turn[]): Turn[] {
  const end = turns.findIndex((turn) => !turn.known);
  return turns.splice(0, end === -1 ? turns.length : end);
}

function errorOf(turn: Turn): { error?: StatusError } {
  return turn.error ? { error: turn.error } : {};
}
