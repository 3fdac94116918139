import { afterEach, describe, expect, it, vi } from 'vitest';
import { routeConsoleThroughLogger } from '#runner/console-guard.ts';
import { createLogger } from '#shared/observability.ts';
import { captureOutput } from '#test/support/captured-output.ts';

describe('console guard', () => {
  let restore: () => void = () => {};
  afterEach(() => {
    restore();
    vi.restoreAllMocks();
  });

  it('turns libsignal’s session dumps into redacted log lines', () => {
    const output = captureOutput();
    const privKey = Buffer.from('a1b2c3d4e5f60718293a4b5c6d7e8f90', 'hex');
    class SessionEntry {
      currentRatchet = { ephemeralKeyPair: { privKey }, rootKey: privKey.toString('base64') };
      indexInfo = { remoteIdentityKey: privKey, created: 1733000000000 };
    }
    restore = routeConsoleThroughLogger(createLogger({ logLevel: 'DEBUG' }));
    console.info('Closing session:', new SessionEntry());
    console.error(
      'Session error:Error: Bad MAC',
      'at 5511922234567.0',
      3,
      5511922234567,
      -22.9068,
      true,
      null,
      new Error('no session with 5511922234567.0'),
    );
    restore();
    output.restore();

    for (const leak of ['a1b2c3d4', privKey.toString('base64'), '922234567', '22.9068'])
      expect(output.text()).not.toContain(leak);
    const [closing, failed] = output.entries();
    expect(closing).toMatchObject({
      level: 'DEBUG',
      message: 'Closing session:',
      console: ['[SessionEntry]'],
    });
    expect(failed).toMatchObject({
      level: 'ERROR',
      message: 'Session error:Error: Bad MAC',
      console: [
        'at 55*******4567.0',
        3,
        '[number]',
        '[number]',
        true,
        'null',
        'Error: no session with 55*******4567.0',
      ],
    });
  });
});
