// The emulator's lifecycle, on servers of this file's own (not the suite's shared one).
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, startMotoServer } from '#infra/local/moto-server.ts';

describe('moto server', () => {
  it('answers on its endpoint, then frees the port on stop', async () => {
    const moto = await startMotoServer();
    expect((await fetch(`${moto.endpoint}/moto-api/`)).ok).toBe(true);
    await moto.stop();
    await expect(fetch(`${moto.endpoint}/moto-api/`)).rejects.toThrow();
    await moto.stop(); // idempotent
  });

  it('fails at once with the end of its log when it cannot start', async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      await expect(startMotoServer({ port })).rejects.toThrow(/ended early[\s\S]*(in use|Errno 98)/i);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      blocker.close();
    }
  });
});
