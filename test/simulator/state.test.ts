import { NOISE_WA_HEADER } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { node } from './binary.ts';
import { FrameReader, frame } from './noise-server.ts';
import { OfflineQueue } from './offline-queue.ts';
import { PreKeyQueue } from './prekeys.ts';

describe('frame reader', () => {
  it('strips the intro with routing info and splits frames across chunks', () => {
    const routing = Buffer.from([1, 2, 3]);
    const intro = Buffer.concat([
      Buffer.from('ED'),
      Buffer.from([0, 1, 0, 0, routing.length]),
      routing,
      NOISE_WA_HEADER,
    ]);
    const stream = Buffer.concat([intro, frame(Buffer.from('hello')), frame(Buffer.from('world!'))]);
    const reader = new FrameReader();

    const frames = [
      ...reader.push(stream.subarray(0, 9)),
      ...reader.push(stream.subarray(9, 20)),
      ...reader.push(stream.subarray(20)),
    ];

    expect(frames.map((received) => received.toString())).toEqual(['hello', 'world!']);
  });

  it('refuses a stream that does not start with the WhatsApp header', () => {
    expect(() => new FrameReader().push(Buffer.from('GET / HTTP/1.1'))).toThrow('intro');
  });
});

describe('prekey queue', () => {
  it('hands out each one-time prekey once, oldest first, and survives packing', () => {
    const key = (id: number) => ({ id, publicKey: Buffer.alloc(32, id) });
    const queue = new PreKeyQueue();
    queue.add([key(1), key(2)]);
    expect(queue.take()).toEqual(key(1));
    queue.add([key(3)]);

    const restored = new PreKeyQueue(queue.pack());

    expect(restored.count).toBe(2);
    expect([restored.take(), restored.take(), restored.take()]).toEqual([key(2), key(3), undefined]);
  });
});

describe('offline queue', () => {
  it('holds stanzas until acked; receipts of one message differ by type', () => {
    const queue = new OfflineQueue();
    queue.hold('5511:1', node('message', { id: 'M1', from: 'a', type: 'text' }));
    queue.hold('5511:1', node('receipt', { id: 'M0', from: 'b' }));
    queue.hold('5511:1', node('receipt', { id: 'M0', from: 'b', type: 'read' }));

    queue.settle('5511:1', 'message', 'M1');
    queue.settle('5511:1', 'receipt', 'M0');

    expect(queue.pending('5511:1').map((stanza) => [stanza.tag, stanza.attrs.type])).toEqual([
      ['receipt', 'read'],
    ]);
  });
});
