import type { WAMessage } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import type { SessionObserver } from '#runner/sessions/channel-session.ts';
import { Inbox, RecordRefusedError } from '#runner/sessions/inbox.ts';
import { ObserverGate } from '#runner/sessions/observer-gate.ts';

/** An observer that logs what reaches it; a received message's record waits for `release`. */
function platform() {
  const reached: string[] = [];
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const observer: SessionObserver = {
    onStatus: async ({ to }) => void reached.push(`status ${to}`),
    onQr: async () => void reached.push('qr'),
    onPairingCode: async () => void reached.push('pairing code'),
    onMessageReceived: async (message) => {
      await held;
      reached.push(`recorded ${message.key.id}`);
    },
    onMessageStatus: async () => void reached.push('message status'),
  };
  return { observer, reached, release };
}

const message = (id: string) => ({ key: { id, remoteJid: '5511900000000@s.whatsapp.net' } }) as WAMessage;

describe('the gate of a deleted channel’s observer', () => {
  it('passes everything while open, then nothing: a received message is refused, the rest dropped', async () => {
    const { observer, reached, release } = platform();
    release();
    const gate = new ObserverGate(observer);
    await gate.onStatus({ from: 'connecting', to: 'open' });
    await gate.onMessageReceived(message('a'), new AbortController().signal);
    gate.close();
    await gate.onStatus({ from: 'open', to: 'logged_out' });
    await gate.onQr('qr', new Date());
    await gate.onPairingCode('ABCD1234', '+5511900000000', new Date());
    await gate.onMessageStatus([]);
    await expect(gate.onMessageReceived(message('b'), new AbortController().signal)).rejects.toBeInstanceOf(
      RecordRefusedError,
    );
    expect(reached).toEqual(['status open', 'recorded a']);
  });

  it('is idle only once a record that got through before it closed has ended', async () => {
    const { observer, reached, release } = platform();
    const gate = new ObserverGate(observer);
    const underWay = gate.onMessageReceived(message('a'), new AbortController().signal);
    gate.close();
    let idle = false;
    const waiting = gate.idle().then(() => {
      idle = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(idle).toBe(false);
    release();
    await underWay;
    await waiting;
    expect(reached).toEqual(['recorded a']);
  });

  it('tells every status it sees, closed or not (a deletion waits for the socket to open)', async () => {
    const seen: string[] = [];
    const gate = new ObserverGate(undefined);
    gate.watchStatus((status) => seen.push(status));
    expect(gate.isClosed).toBe(true);
    await gate.onStatus({ from: 'disconnected', to: 'open' });
    expect(seen).toEqual(['open']);
  });

  it('leaves the inbox no message to retry: a refused one is given up at once, no receipt', async () => {
    const retried: unknown[] = [];
    const gate = new ObserverGate(undefined);
    const inbox = new Inbox<WAMessage>((item, signal) => gate.onMessageReceived(item, signal), {
      retry: { baseMs: 1, maxMs: 2 },
      onRetry: (error) => retried.push(error),
    });
    await expect(inbox.admit(message('a'))).rejects.toBeInstanceOf(RecordRefusedError);
    await expect(inbox.admit(message('b'))).rejects.toBeInstanceOf(RecordRefusedError);
    expect(retried).toEqual([]);
  });
});
