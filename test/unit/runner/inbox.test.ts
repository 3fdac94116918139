import { describe, expect, it } from 'vitest';
import { Inbox, InboxClosedError } from '#runner/sessions/inbox.ts';

const quick = { retry: { baseMs: 1, maxMs: 2 } };

describe('inbox of received messages', () => {
  it('records one message at a time, in the order they came', async () => {
    const log: string[] = [];
    const inbox = new Inbox<string>(async (message) => {
      log.push(`start ${message}`);
      await new Promise((resolve) => setTimeout(resolve, message === 'a' ? 20 : 1));
      log.push(`end ${message}`);
    });
    await Promise.all(['a', 'b', 'c'].map((message) => inbox.admit(message)));
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('retries a failed record, holding back the ones behind it, until it succeeds', async () => {
    const recorded: string[] = [];
    const failures: number[] = [];
    let outage = 3;
    const inbox = new Inbox<string>(
      async (message) => {
        if (message === 'a' && outage-- > 0) throw new Error('DynamoDB unavailable');
        recorded.push(message);
      },
      { ...quick, onRetry: (_error, attempt) => failures.push(attempt) },
    );
    await Promise.all([inbox.admit('a'), inbox.admit('b')]);
    expect(recorded).toEqual(['a', 'b']);
    expect(failures).toEqual([0, 1, 2]);
  });

  it('gives up on what is not recorded once closed, and takes nothing more', async () => {
    const inbox = new Inbox<string>(async () => {
      throw new Error('S3 unavailable');
    }, quick);
    const waiting = inbox.admit('a');
    const behind = inbox.admit('b');
    await new Promise((resolve) => setTimeout(resolve, 10));
    inbox.close();
    await expect(waiting).rejects.toBeInstanceOf(InboxClosedError);
    await expect(behind).rejects.toBeInstanceOf(InboxClosedError);
    await expect(inbox.admit('c')).rejects.toBeInstanceOf(InboxClosedError);
    await inbox.settled();
  });

  it('aborts the record under way when closed: its signal fires and nothing is tried again', async () => {
    let attempts = 0;
    const retried: unknown[] = [];
    const inbox = new Inbox<string>(
      (_message, signal) => {
        attempts++;
        // A download that would never end by itself.
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        );
      },
      { ...quick, onRetry: (error) => retried.push(error) },
    );
    const waiting = inbox.admit('a');
    await new Promise((resolve) => setTimeout(resolve, 10));
    inbox.close();
    await expect(waiting).rejects.toBeInstanceOf(InboxClosedError);
    expect(attempts).toBe(1);
    expect(retried).toEqual([]);
  });
});
