// What `npm start` prints, from values alone.
import { describe, expect, it } from 'vitest';
import type { PlatformFile } from '#infra/local/platform-file.ts';
import {
  environmentExports,
  failureLine,
  formatDuration,
  progressLine,
  renderSummary,
  resourcesText,
  type SummaryInput,
} from '#infra/local/start-summary.ts';

const KEY = 'cwa_01M8R76DS0BVDP6RP41E4AX9EH01M8R76DZDST65413TEHBKDYCYsecret';

const platform: PlatformFile = {
  version: 1,
  pid: 4242,
  startedAt: '2026-12-01T09:30:00.000Z',
  apiUrl: 'http://127.0.0.1:3000',
  docsUrl: 'http://127.0.0.1:3000/docs',
  openApiUrl: 'http://127.0.0.1:3000/v1/openapi.json',
  dashboardUrl: null,
  adminKeyFile: '/repo/.local/admin-key',
  simulatorUrl: 'http://127.0.0.1:7000',
  whatsapp: { mode: 'simulator', webSocketUrl: 'ws://127.0.0.1:7000/ws/chat', startedHere: true },
  runners: [{ runnerId: 'local-runner-1', healthUrl: 'http://127.0.0.1:8081/healthz' }],
  demoTenant: { id: 'ten_01M8R76DS0BVDP6RP41E4AX9EH', name: 'Clínica Demo', keyId: 'key_01', apiKey: KEY },
  virtualPhone: { phoneNumber: '5511977770001', jid: '5511977770001@s.whatsapp.net' },
};

const input: SummaryInput = {
  platform,
  adminKey: 'adm_secret',
  elapsedMs: 20_430,
  state: { kind: 'new' },
  reused: { demoTenant: false, virtualPhone: false },
  files: {
    stateDir: '.local/',
    adminKey: '.local/admin-key',
    demoTenant: '.local/demo-tenant.json',
    platform: '.local/platform.json',
    details: '.local/start-details.txt',
    awsEnv: '.local/local-aws.env',
  },
};

describe('progress lines', () => {
  it('say the part, its detail and its time, the times in one column', () => {
    expect(progressLine({ name: 'local AWS', detail: 'moto, 78 resources', ms: 6_312 })).toBe(
      '✓ local AWS (moto, 78 resources)                  6.3 s',
    );
    expect(progressLine({ name: 'API', detail: 'port 3000', ms: 3_800 })).toBe(
      '✓ API (port 3000)                                 3.8 s',
    );
    expect(progressLine({ name: 'virtual phone', detail: 'none: no admin API', skipped: true, ms: 40 })).toBe(
      '– virtual phone (none: no admin API)              0.0 s',
    );
  });

  it('format durations in seconds, minutes past one', () => {
    expect(formatDuration(0)).toBe('0.0 s');
    expect(formatDuration(59_940)).toBe('59.9 s');
    expect(formatDuration(61_500)).toBe('1 min 2 s');
  });

  it('name a failed part and why on one line, and where the details are', () => {
    expect(
      failureLine(
        'runner local-runner-1',
        'local-runner-1 exited with code 1 before it was ready: Error: listen EADDRINUSE\n    at Server.listen',
        '.local/start-details.txt',
      ),
    ).toBe(
      '✗ runner local-runner-1 failed: local-runner-1 exited with code 1 before it was ready: Error: listen EADDRINUSE (details: .local/start-details.txt)',
    );
    expect(failureLine('API', '\n\n', 'd.txt')).toBe('✗ API failed: no reason given (details: d.txt)');
  });
});

describe('the details', () => {
  it('list resources by type, then by name in numeric order', () => {
    expect(
      resourcesText(
        [
          { type: 'AWS::SQS::Queue', physicalId: 'Shard10' },
          { type: 'AWS::DynamoDB::Table', physicalId: 'Platform' },
          { type: 'AWS::SQS::Queue', physicalId: 'Shard2' },
        ],
        5,
      ),
    ).toBe(
      [
        '  AWS::DynamoDB::Table  Platform',
        '  AWS::SQS::Queue       Shard2',
        '  AWS::SQS::Queue       Shard10',
        '  (5 access policies and metadata have no local meaning and were skipped)',
      ].join('\n'),
    );
  });

  it('export the environment in single quotes a shell reads back as it was', () => {
    expect(environmentExports({ A: 'http://x', B: "it's" })).toBe("export A='http://x'\nexport B='it'\\''s'");
  });
});

describe('the summary', () => {
  it('gives the URLs, the keys, the state, the demo tenant and phone, and two things to try', () => {
    expect(renderSummary(input)).toBe(
      [
        'clinic-wa is running (20.4 s). Ctrl-C stops it.',
        '',
        '  API              http://127.0.0.1:3000',
        '  API docs         http://127.0.0.1:3000/docs',
        '  simulator        ws://127.0.0.1:7000/ws/chat',
        '  simulator admin  http://127.0.0.1:7000',
        '  admin key        adm_secret  (.local/admin-key)',
        '  state            new, kept in .local/ for the next start (--fresh starts empty)',
        '',
        '  demo tenant      Clínica Demo  ten_01M8R76DS0BVDP6RP41E4AX9EH  (new)',
        `  demo API key     ${KEY}  (.local/demo-tenant.json)`,
        "  virtual phone    +5511977770001  ready to scan a channel's QR  (new)",
        '',
        'Try next:',
        "  npm run demo     # walks a clinic's whole path through the API, with the virtual phone",
        `  curl -s http://127.0.0.1:3000/v1/channels -H "Authorization: Bearer ${KEY}"`,
        '',
        'Resources and environment: .local/start-details.txt (`source .local/local-aws.env` for your tools); for scripts: .local/platform.json',
      ].join('\n'),
    );
  });

  it('shows the dashboard when a part serves one', () => {
    const lines = renderSummary({
      ...input,
      platform: { ...platform, dashboardUrl: 'http://127.0.0.1:8090' },
    }).split('\n');
    expect(lines.slice(2, 6)).toEqual([
      '  API              http://127.0.0.1:3000',
      '  API docs         http://127.0.0.1:3000/docs',
      '  dashboard        http://127.0.0.1:8090  (sign in with the demo API key or the admin key)',
      '  simulator        ws://127.0.0.1:7000/ws/chat',
    ]);
  });

  it('says what came back after a restart: the state, the demo tenant and the phone reused', () => {
    const summary = renderSummary({
      ...input,
      state: { kind: 'restored', savedAt: '2026-12-01T09:29:58Z' },
      reused: { demoTenant: true, virtualPhone: true },
    });
    expect(summary).toContain(
      '\n  state            restored from .local/ (saved 2026-12-01 09:29:58 UTC); --fresh starts empty\n',
    );
    expect(summary).toContain(
      '\n  demo tenant      Clínica Demo  ten_01M8R76DS0BVDP6RP41E4AX9EH  (reused)\n',
    );
    expect(summary).toContain(
      "\n  virtual phone    +5511977770001  ready to scan a channel's QR  (reused)\n",
    );
  });

  it('says when --fresh emptied the state, and when an external emulator keeps its own', () => {
    expect(renderSummary({ ...input, state: { kind: 'fresh' } })).toContain(
      '\n  state            empty (--fresh), kept in .local/ for the next start\n',
    );
    expect(renderSummary({ ...input, state: { kind: 'external' } })).toContain(
      "\n  state            local AWS keeps its own; the simulator's phones are kept in .local/\n",
    );
  });

  it('says a simulator was not started here, and why it has no phone when its admin API did not answer', () => {
    const summary = renderSummary({
      ...input,
      platform: {
        ...platform,
        simulatorUrl: null,
        whatsapp: { mode: 'simulator', webSocketUrl: 'ws://10.0.0.5:7780/ws/chat', startedHere: false },
        virtualPhone: null,
      },
    });
    expect(summary).toContain('\n  simulator      ws://10.0.0.5:7780/ws/chat  (not started here)\n');
    expect(summary).not.toContain('simulator admin');
    expect(summary).toContain('\n  virtual phone  none: the simulator’s admin API did not answer\n');
    expect(summary).not.toContain('npm run demo');
  });

  it('with live WhatsApp, has no phone and tells where the QR appears', () => {
    const summary = renderSummary({
      ...input,
      platform: { ...platform, simulatorUrl: null, whatsapp: { mode: 'live' }, virtualPhone: null },
    });
    const tryNext = summary.split('Try next:\n')[1]?.split('\n\n')[0];
    expect(summary).toContain('\n  WhatsApp       WhatsApp itself (live): QR codes are drawn here\n');
    expect(summary).toContain('\n  virtual phone  none with live WhatsApp: pair your own phone\n');
    expect(tryNext).toBe(
      [
        `  curl -s -XPOST http://127.0.0.1:3000/v1/channels -H "Authorization: Bearer ${KEY}" -H 'content-type: application/json' -d '{"name":"Recepção"}'`,
        `  curl -s -XPOST http://127.0.0.1:3000/v1/channels/<id>/connect -H "Authorization: Bearer ${KEY}" -H 'content-type: application/json' -d '{"method":"qr"}'`,
        '  # the channel’s QR is drawn in this terminal: scan it in WhatsApp → Linked devices',
      ].join('\n'),
    );
  });
});
