import { afterEach, describe, expect, it, vi } from 'vitest';
import { routeConsoleThroughLogger } from '#runner/console-guard.ts';
import { createLogger } from '#shared/observability.ts';

describe('console guard', () => {
  let restore: () => void = () => {};
  afterEach(() => {
    restore();
    vi.restoreAllMocks();
  });

  it('turns libsignal’s session dumps into redacted log lines', () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const privKey = Buffer.from('a1b2c3d4e5f60718293a4b5c6d7e8f90', 'hex');
    restore = routeConsoleThroughLogger(createLogger({ logLevel: 'DEBUG' }));
    console.info('Closing session:', { currentRatchet: { ephemeralKeyPair: { privKey } } });
    restore();

    const output = written.join('');
    expect(output).toContain('Closing session:');
    expect(output).not.toContain('a1b2c3d4');
    expect(output).not.toContain(privKey.toString('base64'));
    expect(JSON.stringify(JSON.parse(output.trim().split('\n').at(-1) ?? '{}'))).toContain('[redacted]');
  });
});
