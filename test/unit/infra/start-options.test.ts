// `npm start`'s command line, without starting anything.
import { describe, expect, it } from 'vitest';
import { localAwsOptionsFromEnvironment } from '#infra/local/local-aws.ts';
import {
  DEFAULT_AWS_PORT,
  MAX_RUNNERS,
  parseStartOptions,
  START_HELP,
  StartOptionsError,
  simulatorAdminUrl,
} from '#infra/local/start-options.ts';

const ROOT_KEY = Buffer.alloc(32, 7).toString('base64');

function refusal(argv: string[]): string {
  try {
    parseStartOptions(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(StartOptionsError);
    return (error as Error).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('parseStartOptions', () => {
  it('starts everything here with one runner by default', () => {
    expect(parseStartOptions([])).toEqual({
      help: false,
      verbose: false,
      fresh: false,
      runners: 1,
      whatsapp: { kind: 'simulator' },
    });
  });

  it('takes --verbose, --help and their short forms', () => {
    expect(parseStartOptions(['--verbose'])).toMatchObject({ verbose: true, help: false });
    expect(parseStartOptions(['-v', '-h'])).toMatchObject({ verbose: true, help: true });
    expect(parseStartOptions(['--help'])).toMatchObject({ help: true });
  });

  it('starts from empty state with --fresh or LOCAL_FRESH=true, and refuses another LOCAL_FRESH', () => {
    expect(parseStartOptions(['--fresh']).fresh).toBe(true);
    for (const [value, fresh] of [
      ['true', true],
      ['1', true],
      ['TRUE', true],
      ['false', false],
      ['0', false],
      ['', false],
    ] as const) {
      expect(parseStartOptions([], { LOCAL_FRESH: value }).fresh).toBe(fresh);
    }
    expect(parseStartOptions(['--fresh'], { LOCAL_FRESH: 'false' }).fresh).toBe(true);
    expect(() => parseStartOptions([], { LOCAL_FRESH: 'yes please' })).toThrow(
      new StartOptionsError("LOCAL_FRESH must be true or false, got 'yes please'"),
    );
    expect(() => parseStartOptions(['--fresh'], { LOCAL_FRESH: 'yes' })).toThrow(StartOptionsError);
    expect(refusal(['--fresh=no'])).toBe('--fresh takes no value');
  });

  it('takes --runners from 1 to the maximum, as a whole number', () => {
    expect(parseStartOptions(['--runners', '2']).runners).toBe(2);
    expect(parseStartOptions([`--runners=${MAX_RUNNERS}`]).runners).toBe(MAX_RUNNERS);
    for (const bad of ['0', String(MAX_RUNNERS + 1), '1.5', 'two', '-1', '']) {
      expect(refusal([`--runners=${bad}`])).toBe(
        `--runners must be a whole number from 1 to ${MAX_RUNNERS}, got '${bad}'`,
      );
    }
    expect(refusal(['--runners'])).toBe('--runners needs a value');
    expect(refusal(['--runners', '--verbose'])).toBe('--runners needs a value');
  });

  it('points the runners at another simulator with its root key, the media CA optional', () => {
    expect(
      parseStartOptions(['--whatsapp', 'ws://10.0.0.5:7780/ws/chat', '--trust', ROOT_KEY]).whatsapp,
    ).toEqual({
      kind: 'external',
      webSocketUrl: 'ws://10.0.0.5:7780/ws/chat',
      trustRoot: ROOT_KEY,
    });
    expect(
      parseStartOptions([
        '--whatsapp=wss://sim.example/ws/chat',
        `--trust=${ROOT_KEY}`,
        '--media-ca',
        'ca.pem',
      ]).whatsapp,
    ).toEqual({
      kind: 'external',
      webSocketUrl: 'wss://sim.example/ws/chat',
      trustRoot: ROOT_KEY,
      mediaCaFile: 'ca.pem',
    });
  });

  it('refuses a simulator without its root key, or with one that is not 32 bytes of base64', () => {
    expect(refusal(['--whatsapp', 'ws://127.0.0.1:7780/ws/chat'])).toMatch(
      /^--whatsapp ws:\/\/127\.0\.0\.1:7780\/ws\/chat needs --trust <base64>/,
    );
    for (const bad of [Buffer.alloc(31).toString('base64'), 'not base64!', `${ROOT_KEY}AA`]) {
      expect(refusal(['--whatsapp', 'ws://127.0.0.1:7780/ws/chat', '--trust', bad])).toBe(
        '--trust must be the base64 of a 32-byte public key (GET /trust → rootPublicKey)',
      );
    }
    expect(refusal(['--whatsapp', 'http://127.0.0.1:7780', '--trust', ROOT_KEY])).toBe(
      "--whatsapp takes 'live' or a simulator's WebSocket URL (ws://host:port/ws/chat), got 'http://127.0.0.1:7780'",
    );
  });

  it('points the runners at WhatsApp itself with --whatsapp live, which takes no simulator flags', () => {
    expect(parseStartOptions(['--whatsapp', 'live', '--runners', '3'])).toMatchObject({
      runners: 3,
      whatsapp: { kind: 'live' },
    });
    expect(refusal(['--whatsapp', 'live', '--trust', ROOT_KEY])).toBe(
      '--trust goes with --whatsapp <ws-url> (the simulator it describes), not with --whatsapp live',
    );
    expect(refusal(['--media-ca', 'ca.pem'])).toBe(
      '--media-ca goes with --whatsapp <ws-url> (the simulator it describes)',
    );
  });

  it('names an unknown option or a stray argument', () => {
    expect(refusal(['--runner', '2'])).toBe('unknown option --runner');
    expect(refusal(['-x'])).toBe('unknown option -x');
    expect(refusal(['live'])).toBe("unexpected argument 'live' (options start with --)");
    expect(refusal(['--verbose=yes'])).toBe('--verbose takes no value');
  });

  it('documents every option in --help', () => {
    for (const option of [
      '--verbose',
      '--fresh',
      'LOCAL_FRESH',
      'LOCAL_DASHBOARD_PORT (8090)',
      `LOCAL_AWS_PORT (moto, ${DEFAULT_AWS_PORT})`,
      '--runners',
      '--whatsapp <ws-url>',
      '--trust',
      '--media-ca',
      '--whatsapp live',
      '--help',
    ]) {
      expect(START_HELP).toContain(option);
    }
    expect(START_HELP).toMatch(/--trust <base64>\s+required/);
    expect(START_HELP).toMatch(/--media-ca <pem-file>\s+optional/);
  });
});

describe("npm start's moto port", () => {
  // A restart must find the restored queues at the same URLs: moto builds them from the port.
  it('is fixed: LOCAL_AWS_PORT, else npm start’s default, where the tests take a free one', () => {
    const npmStart = { port: DEFAULT_AWS_PORT };
    expect(localAwsOptionsFromEnvironment({}, npmStart)).toEqual({ port: 4566 });
    expect(localAwsOptionsFromEnvironment({ LOCAL_AWS_PORT: '7801' }, npmStart)).toEqual({ port: 7801 });
    expect(localAwsOptionsFromEnvironment({})).toEqual({});
    expect(() => localAwsOptionsFromEnvironment({ LOCAL_AWS_PORT: 'x' }, npmStart)).toThrow(
      /LOCAL_AWS_PORT must be a port number/,
    );
    expect(
      localAwsOptionsFromEnvironment(
        { CLINIC_WA_EXTERNAL_AWS: '1', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' },
        npmStart,
      ),
    ).toEqual({ externalEndpoint: 'http://127.0.0.1:4566' });
  });
});

describe('simulatorAdminUrl', () => {
  it('is the WebSocket’s host and port over HTTP', () => {
    expect(simulatorAdminUrl('ws://127.0.0.1:7780/ws/chat')).toBe('http://127.0.0.1:7780');
    expect(simulatorAdminUrl('wss://sim.example/ws/chat')).toBe('https://sim.example');
  });
});
