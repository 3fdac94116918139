// What `npm start` prints: a line per part as it comes up, one line for a part that failed, and at
// the end the summary a newcomer reads (URLs, keys, the state kept across restarts, the demo tenant
// and phone, what to try next).
// Pure text from values, so the layout is tested without starting anything.
import type { PlatformFile } from './platform-file.ts';

/** Names and their details are padded to this, so the times line up. */
const PROGRESS_WIDTH = 46;

export function formatDuration(ms: number): string {
  return ms < 60_000
    ? `${(ms / 1000).toFixed(1)} s`
    : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** `✓ local AWS (moto, 41 resources)              3.2 s`; a part with nothing to do gets `–`. */
export function progressLine(part: {
  name: string;
  detail?: string | undefined;
  skipped?: boolean | undefined;
  ms: number;
}): string {
  const label = part.detail ? `${part.name} (${part.detail})` : part.name;
  return `${part.skipped ? '–' : '✓'} ${label.padEnd(PROGRESS_WIDTH)} ${formatDuration(part.ms).padStart(6)}`;
}

/** The part being started, shown until its line replaces it (on a terminal only). */
export function pendingLine(name: string): string {
  return `… ${name}`;
}

/** One line, whatever the error's message holds: which part, why, and where the rest is. */
export function failureLine(part: string, reason: string, detailsFile: string): string {
  const firstLine =
    reason
      .split('\n')
      .map((line) => line.trim())
      .find(Boolean) ?? 'no reason given';
  return `✗ ${part} failed: ${firstLine} (details: ${detailsFile})`;
}

export interface StackResource {
  readonly type: string;
  readonly physicalId: string;
}

/** The stack's resources by type and name, for the details file (`--verbose` prints it too). */
export function resourcesText(resources: readonly StackResource[], skipped: number): string {
  const typeWidth = Math.max(0, ...resources.map((resource) => resource.type.length));
  const sorted = [...resources].sort(
    (a, b) =>
      a.type.localeCompare(b.type) || a.physicalId.localeCompare(b.physicalId, 'en', { numeric: true }),
  );
  return [
    ...sorted.map((resource) => `  ${resource.type.padEnd(typeWidth)}  ${resource.physicalId}`),
    `  (${skipped} access policies and metadata have no local meaning and were skipped)`,
  ].join('\n');
}

/** `export KEY='value'` lines, as written to `.local/local-aws.env`. */
export function environmentExports(environment: Readonly<Record<string, string>>): string {
  return Object.entries(environment)
    .map(([key, value]) => `export ${key}='${value.replaceAll("'", `'\\''`)}'`)
    .join('\n');
}

/** What this start made of the state an earlier one saved (local-state.ts). */
export type StartState =
  /** moto's saved state came back (`savedAt`: its header's UTC time). */
  | { readonly kind: 'restored'; readonly savedAt: string }
  /** Nothing saved yet: the first start on this state directory. */
  | { readonly kind: 'new' }
  /** `--fresh` (or `LOCAL_FRESH=true`) forgot it. */
  | { readonly kind: 'fresh' }
  /** An external emulator (`CLINIC_WA_EXTERNAL_AWS=1`) keeps, or not, its own. */
  | { readonly kind: 'external' };

export interface SummaryInput {
  readonly platform: PlatformFile;
  readonly adminKey: string;
  readonly elapsedMs: number;
  readonly state: StartState;
  /** Whether the demo tenant and the virtual phone are an earlier start's, found again. */
  readonly reused: { readonly demoTenant: boolean; readonly virtualPhone: boolean };
  /** Paths as shown to the reader (`.local/admin-key`; for the admin key, where it came from). */
  readonly files: {
    /** The state directory, `.local/` unless `LOCAL_STATE_DIR` moved it. */
    readonly stateDir: string;
    readonly adminKey: string;
    readonly demoTenant: string;
    readonly platform: string;
    readonly details: string;
    readonly awsEnv: string;
  };
}

export function renderSummary(input: SummaryInput): string {
  const { platform, adminKey, elapsedMs, files, reused } = input;
  const { apiUrl, whatsapp, demoTenant, virtualPhone } = platform;
  const auth = `-H "Authorization: Bearer ${demoTenant.apiKey}"`;
  const rows: [string, string][] = [
    ['API', apiUrl],
    ['API docs', platform.docsUrl],
    ...(platform.dashboardUrl
      ? [
          ['dashboard', `${platform.dashboardUrl}  (sign in with the demo API key or the admin key)`] as [
            string,
            string,
          ],
        ]
      : []),
    ...whatsAppRows(platform),
    ['admin key', `${adminKey}  (${files.adminKey})`],
    ['state', stateRow(input.state, files.stateDir)],
    ['', ''],
    ['demo tenant', `${demoTenant.name}  ${demoTenant.id}  (${reused.demoTenant ? 'reused' : 'new'})`],
    ['demo API key', `${demoTenant.apiKey}  (${files.demoTenant})`],
    ['virtual phone', phoneRow(platform, reused.virtualPhone)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const table = rows.map(([label, value]) => (label ? `  ${label.padEnd(width)}  ${value}` : ''));

  const tryNext = virtualPhone
    ? [
        `  npm run demo     # walks a clinic's whole path through the API, with the virtual phone`,
        `  curl -s ${apiUrl}/v1/channels ${auth}`,
      ]
    : [
        `  curl -s -XPOST ${apiUrl}/v1/channels ${auth} -H 'content-type: application/json' -d '{"name":"Recepção"}'`,
        `  curl -s -XPOST ${apiUrl}/v1/channels/<id>/connect ${auth} -H 'content-type: application/json' -d '{"method":"qr"}'`,
        ...(whatsapp.mode === 'live'
          ? ['  # the channel’s QR is drawn in this terminal: scan it in WhatsApp → Linked devices']
          : []),
      ];

  return [
    `clinic-wa is running (${formatDuration(elapsedMs)}). Ctrl-C stops it.`,
    '',
    ...table,
    '',
    'Try next:',
    ...tryNext,
    '',
    `Resources and environment: ${files.details} (\`source ${files.awsEnv}\` for your tools); for scripts: ${files.platform}`,
  ].join('\n');
}

function whatsAppRows({ whatsapp, simulatorUrl }: PlatformFile): [string, string][] {
  if (whatsapp.mode === 'live') return [['WhatsApp', 'WhatsApp itself (live): QR codes are drawn here']];
  return [
    ['simulator', `${whatsapp.webSocketUrl}${whatsapp.startedHere ? '' : '  (not started here)'}`],
    ...(simulatorUrl ? [['simulator admin', simulatorUrl] as [string, string]] : []),
  ];
}

/** What survives a restart, in one line: whether it came back, where it is kept, how to forget it. */
function stateRow(state: StartState, dir: string): string {
  switch (state.kind) {
    case 'restored':
      return `restored from ${dir} (saved ${state.savedAt.replace('T', ' ').replace('Z', ' UTC')}); --fresh starts empty`;
    case 'new':
      return `new, kept in ${dir} for the next start (--fresh starts empty)`;
    case 'fresh':
      return `empty (--fresh), kept in ${dir} for the next start`;
    case 'external':
      return `local AWS keeps its own; the simulator's phones are kept in ${dir}`;
  }
}

function phoneRow(platform: PlatformFile, reused: boolean): string {
  const { virtualPhone, whatsapp } = platform;
  if (virtualPhone) {
    return `+${virtualPhone.phoneNumber}  ready to scan a channel's QR  (${reused ? 'reused' : 'new'})`;
  }
  return whatsapp.mode === 'live'
    ? 'none with live WhatsApp: pair your own phone'
    : 'none: the simulator’s admin API did not answer';
}
