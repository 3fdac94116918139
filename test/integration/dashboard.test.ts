// The dashboard in a real browser (Chromium through playwright-core) against a real platform: the
// app built and served by infra/local/dashboard-server.ts, the API behind its local front, a runner
// on the same queues and virtual phones on the WhatsApp simulator, driven through its admin API.
// Everything the test does in the page goes through the public API, as a clinic's browser would.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type DashboardServer,
  DEFAULT_DASHBOARD_DIR,
  startDashboardServer,
} from '#infra/local/dashboard-server.ts';
import { type Simulator, startSimulator } from '#test/simulator';
import type { ApiClient } from './api/support/api-client.ts';
import { type ApiWorld, startApiWorld } from './api/support/api-world.ts';
import { type RunnerPlatform, runnerPlatform, until } from './runner/support/runner-harness.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.DASHBOARD_SCREENSHOTS ?? '/tmp';
/** The dashboard polls every 3 s: a status shows within a few polls. */
const SEEN_WITHIN = { timeout: 30_000 };

let simulator: Simulator;
let runners: RunnerPlatform;
let runner: Awaited<ReturnType<RunnerPlatform['startRunner']>>;
let api: ApiWorld;
let dashboard: DashboardServer;
let browser: Browser;
let clinic: { tenantId: string; client: ApiClient; key: string };

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  simulator = await startSimulator();
  runners = await runnerPlatform(simulator);
  // No lease loops: the runner heartbeats and renews when the test says (`runner.tick()`), so the
  // runners page can be shown a runner that is silent, then one that moves.
  runner = await runners.startRunner('dashboard-runner');
  api = await startApiWorld(
    {
      COMMAND_QUEUE_URLS: runners.queueUrls.join(','),
      SHARD_COUNT: String(runners.queueUrls.length),
      RUNNER_CLUSTER: runners.cluster,
    },
    // A revoked key is refused within a second, not the deployed minute: the 401 test waits for it.
    { authorizerCacheSeconds: 1 },
  );
  clinic = await api.newTenant();
  dashboard = await startDashboardServer({
    apiUrl: api.front.url,
    mediaOrigins: [new URL(inject('localAws').endpoint).origin],
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
});
afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  await api?.stop();
  await runners?.stopAll();
  await simulator?.stop();
});

async function newPage(
  viewport = { width: 1100, height: 900 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(dashboard.url);
  return { context, page };
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('Chave de API').fill(key);
  await page.getByRole('button', { name: 'Entrar' }).click();
}

/** The simulator's admin API, as a tester at the other end would use it. */
async function simulatorAdmin<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${simulator.adminUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok)
    throw new Error(`simulator ${method} ${path}: ${response.status} ${await response.text()}`);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/**
 * Every URL the page asks for (API calls, assets, media) and every address it shows, to hold them to
 * carrying no phone number: paths and query strings are what access logs keep (docs/dashboard.md).
 */
function recordUrls(page: Page): string[] {
  const urls: string[] = [page.url()];
  page.on('request', (request) => urls.push(request.url()));
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) urls.push(frame.url());
  });
  return urls;
}

/** The URLs holding any 8 digits in a row of one of the numbers (so the whole number too), decoded or not. */
function urlsWithNumbers(urls: readonly string[], phoneNumbers: readonly string[]): string[] {
  const runs = phoneNumbers.flatMap((number) => {
    const digits = number.replace(/\D/g, '');
    return Array.from({ length: digits.length - 7 }, (_, start) => digits.slice(start, start + 8));
  });
  const decoded = (url: string) => {
    try {
      return decodeURIComponent(url);
    } catch {
      return url;
    }
  };
  return urls.filter((url) => runs.some((run) => url.includes(run) || decoded(url).includes(run)));
}

/** The QR the page draws, as its module matrix read back from the SVG path. */
async function qrOnPage(page: Page): Promise<boolean[][]> {
  const svg = page.locator('svg.qr');
  const drawn = {
    size: Number(await svg.getAttribute('data-modules')),
    quiet: Number(await svg.getAttribute('data-quiet-zone')),
    path: (await svg.locator('path').getAttribute('d')) ?? '',
  };
  const matrix = Array.from({ length: drawn.size }, () => Array<boolean>(drawn.size).fill(false));
  for (const [, x, y] of drawn.path.matchAll(/M(\d+) (\d+)h1v1h-1z/g)) {
    const row = matrix[Number(y) - drawn.quiet];
    if (row) row[Number(x) - drawn.quiet] = true;
  }
  return matrix;
}

function qrMatrix(text: string): boolean[][] {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  return Array.from({ length: modules.size }, (_, row) =>
    Array.from({ length: modules.size }, (_, column) => Boolean(modules.get(row, column))),
  );
}

/** A real 2×2 PNG (red, green / blue, white), so the browser can decode what the phone sends. */
function tinyPng(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(2, 0);
  header.writeUInt32BE(2, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('the dashboard', () => {
  it('speaks Brazilian Portuguese by default and English after the switch, which it remembers', async () => {
    const { context, page } = await newPage();
    try {
      expect(await page.locator('html').getAttribute('lang')).toBe('pt-BR');
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Entrar');
      await page.getByLabel('Idioma').selectOption('en');
      await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('en');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
      expect(await page.getByLabel('API key').count()).toBe(1);
      await page.reload();
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
    } finally {
      await context.close();
    }
  });

  it("shows the API's error for a wrong key, with its code and request id, and stays signed out", async () => {
    const { context, page } = await newPage();
    try {
      await signIn(page, 'cwa_this-key-does-not-exist');
      const alert = page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.getAttribute('data-error-code')).toBe('unauthenticated');
      const text = await alert.textContent();
      expect(text).toContain('A chave não foi aceita');
      expect(text).toMatch(/Solicitação: [0-9a-f-]{36}/);
      expect(await page.evaluate("sessionStorage.getItem('clinic-wa.session')")).toBeNull();
      expect(page.url()).not.toContain('cwa_');
    } finally {
      await context.close();
    }
  });

  it('signs in with the keyboard alone, with focus visible on the way', async () => {
    const { context, page } = await newPage();
    try {
      let reached = false;
      for (let press = 0; press < 10 && !reached; press++) {
        await page.keyboard.press('Tab');
        reached = (await page.locator(':focus').getAttribute('name')) === 'api-key';
      }
      expect(reached).toBe(true);
      // The page's own globals, not this file's (which has no DOM types): an expression in the page.
      const outline = await page.evaluate(
        '({ style: getComputedStyle(document.activeElement).outlineStyle, width: getComputedStyle(document.activeElement).outlineWidth })',
      );
      expect(outline).toEqual({ style: 'solid', width: '3px' });
      await page.keyboard.type(clinic.key);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: 'Canais' }).waitFor(SEEN_WITHIN);
      expect(new URL(page.url()).pathname).toBe('/channels');
      // The key is in the tab's session storage, never in the address.
      expect(page.url()).not.toContain(clinic.key);
      expect(await page.evaluate("sessionStorage.getItem('clinic-wa.session')")).toContain(clinic.key);
    } finally {
      await context.close();
    }
  });

  it("pairs a channel by the QR it draws, then sends a text and a picture with their ticks and shows the patient's replies", async () => {
    const clinicNumber = '5511955550001';
    const patientNumber = '5511966660001';
    await simulatorAdmin('POST', '/phones', { phoneNumber: clinicNumber });
    await simulatorAdmin('POST', '/phones', { phoneNumber: patientNumber });
    const { context, page } = await newPage({ width: 390, height: 844 });
    const urls = recordUrls(page);
    try {
      await signIn(page, clinic.key);
      await page.getByRole('heading', { level: 1, name: 'Canais' }).waitFor(SEEN_WITHIN);
      await page.getByLabel('Nome').fill('Recepção');
      await page.getByRole('button', { name: 'Criar canal' }).click();
      await page.getByRole('heading', { level: 1, name: 'Recepção' }).waitFor(SEEN_WITHIN);
      const channelId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2] ?? '');
      expect(channelId).toMatch(/^chn_/);
      expect(await page.locator('.facts [data-status]').getAttribute('data-status')).toBe('disconnected');

      await page.getByRole('button', { name: 'Conectar por QR' }).click();
      const qr = page.getByRole('img', { name: 'QR para conectar o canal Recepção' });
      await qr.waitFor(SEEN_WITHIN);
      expect(await page.locator('.countdown').textContent()).toMatch(/^Vence em \d+ s$/);
      await page.screenshot({ path: `${SCREENSHOTS}/dashboard-qr.png`, fullPage: true });
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

      // The page's QR is the channel's current one (it may rotate between the two reads: read again).
      const shown = await until(async () => {
        const answer = await clinic.client.get(`/v1/channels/${channelId}/qr`);
        if (answer.status !== 200) return undefined;
        const drawn = await qrOnPage(page);
        return JSON.stringify(drawn) === JSON.stringify(qrMatrix(answer.body.qr))
          ? answer.body.qr
          : undefined;
      }, 'the page to draw the channel’s current QR');
      await simulatorAdmin('POST', `/phones/${clinicNumber}/scan`, { qr: shown });

      await page.locator('.facts [data-status="open"]').waitFor(SEEN_WITHIN);
      expect(await page.locator('.facts').textContent()).toContain(`+${clinicNumber}`);
      await expect
        .poll(() => page.getByTestId('announcer').textContent(), SEEN_WITHIN)
        .toBe('Canal Recepção: Conectado.');
      expect(await page.locator('svg.qr').count()).toBe(0);

      await page.getByRole('link', { name: 'Canais' }).first().click();
      await page.locator(`[data-channel-id="${channelId}"] [data-status="open"]`).waitFor(SEEN_WITHIN);
      await page.screenshot({ path: `${SCREENSHOTS}/dashboard-channels.png`, fullPage: true });
      await page.getByRole('link', { name: 'Recepção' }).click();

      await page.getByLabel('Nova conversa com (E.164)').fill(`+${patientNumber}`);
      await page.getByRole('button', { name: 'Abrir' }).click();
      const heading = page.getByRole('heading', { level: 1, name: `Conversa com +${patientNumber}` });
      await heading.waitFor(SEEN_WITHIN);
      // The conversation's address names it by a key of this tab's, not by the patient's number…
      const conversationUrl = page.url();
      expect(new URL(conversationUrl).pathname).toMatch(
        new RegExp(`^/channels/${channelId}/conversations/[a-z]{16}$`),
      );
      // …which a reload still finds.
      await page.reload();
      await heading.waitFor(SEEN_WITHIN);
      expect(page.url()).toBe(conversationUrl);
      await page.getByLabel('Mensagem').fill('Sua consulta é amanhã às 9h.');
      await page.keyboard.press('Enter');
      const sent = page.locator('[data-direction="outbound"]', { hasText: 'Sua consulta é amanhã às 9h.' });
      await sent.locator('.ticks[data-status="delivered"]').waitFor(SEEN_WITHIN);
      expect(await sent.locator('.ticks').textContent()).toBe('✓✓Entregue');

      const onPhone = await until(async () => {
        const { received } = await simulatorAdmin<{ received: { id: string; text?: string }[] }>(
          'GET',
          `/phones/${patientNumber}/messages`,
        );
        return received.find((message) => message.text === 'Sua consulta é amanhã às 9h.');
      }, 'the patient to receive the text');
      await simulatorAdmin('POST', `/phones/${patientNumber}/read`, { messageId: onPhone.id });
      await sent.locator('.ticks[data-status="read"]').waitFor(SEEN_WITHIN);
      expect(await sent.locator('.ticks').getAttribute('class')).toContain('ticks--read');

      await simulatorAdmin('POST', `/phones/${patientNumber}/messages`, {
        to: clinicNumber,
        text: 'Confirmo, obrigado!',
      });
      const reply = page.locator('[data-direction="inbound"]', { hasText: 'Confirmo, obrigado!' });
      await reply.waitFor(SEEN_WITHIN);
      expect(await reply.locator('.ticks').count()).toBe(0);

      // A picture from the patient shows through the API's media route (and the CSP lets it load).
      await simulatorAdmin('POST', `/phones/${patientNumber}/messages`, {
        to: clinicNumber,
        media: {
          kind: 'image',
          base64: tinyPng().toString('base64'),
          mimetype: 'image/png',
          caption: 'exame',
        },
      });
      const picture = page.locator('[data-direction="inbound"] img[alt="exame"]');
      await picture.waitFor(SEEN_WITHIN);
      await expect
        .poll(() =>
          page.evaluate(`document.querySelector('[data-direction="inbound"] img[alt="exame"]').naturalWidth`),
        )
        .toBe(2);

      // A picture from the clinic: uploaded, sent, received byte for byte.
      await page.getByLabel('Anexar arquivo').setInputFiles({
        name: 'orientacoes.png',
        mimeType: 'image/png',
        buffer: tinyPng(),
      });
      await page.getByLabel('Legenda (opcional)').fill('Orientações');
      await page.getByRole('button', { name: 'Enviar' }).click();
      const sentPicture = page.locator('[data-direction="outbound"]', { hasText: 'Orientações' });
      await sentPicture.locator('.ticks[data-status="delivered"]').waitFor(SEEN_WITHIN);
      const received = await until(async () => {
        const { received } = await simulatorAdmin<{
          received: { type: string; caption?: string; mediaBase64?: string }[];
        }>('GET', `/phones/${patientNumber}/messages`);
        return received.find((message) => message.type === 'image' && message.caption === 'Orientações');
      }, 'the patient to receive the picture');
      expect(received.mediaBase64).toBe(tinyPng().toString('base64'));
      await page.screenshot({ path: `${SCREENSHOTS}/dashboard-conversation.png`, fullPage: true });
      // A phone's width: nothing wider than the screen.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

      // Back on the channel, its conversation is listed and its link is the same key.
      await page.getByRole('link', { name: 'Voltar ao canal' }).click();
      const listed = page.locator(`[data-contact="+${patientNumber}"] a`);
      await listed.waitFor(SEEN_WITHIN);
      expect(new URL((await listed.getAttribute('href')) ?? '', dashboard.url).href).toBe(conversationUrl);

      // No address the page showed and no request it made held either phone's number.
      expect(page.url()).not.toContain(patientNumber);
      expect(urls.some((url) => url.includes('/messages/search'))).toBe(true);
      expect(urls.some((url) => url.includes('/v1/media/'))).toBe(true);
      expect(urlsWithNumbers(urls, [clinicNumber, patientNumber])).toEqual([]);

      // Another session does not know the key: its link leads back to the channel, saying why.
      const other = await newPage();
      const otherUrls = recordUrls(other.page);
      try {
        await signIn(other.page, clinic.key);
        await other.page.getByRole('heading', { level: 1, name: 'Canais' }).waitFor(SEEN_WITHIN);
        await other.page.goto(conversationUrl);
        await other.page.getByRole('heading', { level: 1, name: 'Recepção' }).waitFor(SEEN_WITHIN);
        expect(new URL(other.page.url()).pathname).toBe(`/channels/${channelId}`);
        await expect
          .poll(() => other.page.getByTestId('announcer').textContent(), SEEN_WITHIN)
          .toBe('Esta sessão não conhece esse link de conversa: abra a conversa pela lista do canal.');
        expect(urlsWithNumbers(otherUrls, [clinicNumber, patientNumber])).toEqual([]);
      } finally {
        await other.context.close();
      }
    } finally {
      await context.close();
    }
  });

  it('returns to sign-in when the key stops working', async () => {
    const tenant = await api.newTenant();
    const { context, page } = await newPage();
    try {
      await signIn(page, tenant.key);
      await page.getByRole('heading', { level: 1, name: 'Canais' }).waitFor(SEEN_WITHIN);
      const keys = await api.admin.get(`/v1/tenants/${tenant.tenantId}/api-keys`);
      await api.admin.delete(`/v1/tenants/${tenant.tenantId}/api-keys/${keys.body.items[0].id}`);
      await page.getByText('A chave deixou de ser aceita. Entre novamente.').waitFor(SEEN_WITHIN);
      expect(await page.getByLabel('Chave de API').count()).toBe(1);
      expect(await page.evaluate("sessionStorage.getItem('clinic-wa.session')")).toBeNull();
    } finally {
      await context.close();
    }
  });

  it('lets the operator create a clinic and a key, shown once, that signs in to that clinic', async () => {
    const { context, page } = await newPage();
    try {
      await signIn(page, api.adminKey);
      await page.getByRole('heading', { level: 1, name: 'Clínicas' }).waitFor(SEEN_WITHIN);
      await page.getByLabel('Nome', { exact: true }).fill('Clínica Sorriso');
      await page.getByRole('button', { name: 'Criar clínica' }).click();
      await page.getByRole('heading', { level: 1, name: 'Clínica Sorriso' }).waitFor(SEEN_WITHIN);
      await page.getByLabel('Nome da chave').fill('recepção');
      await page.getByRole('button', { name: 'Criar chave' }).click();
      const key = (await page.getByTestId('secret-value').textContent()) ?? '';
      expect(key).toMatch(/^cwa_/);
      await page.getByRole('button', { name: 'Já copiei' }).click();
      expect(await page.getByTestId('secret-value').count()).toBe(0);
      await page.locator('[data-key-id]', { hasText: 'recepção' }).waitFor();

      await page.getByRole('button', { name: 'Sair' }).click();
      await signIn(page, key);
      await page.getByRole('heading', { level: 1, name: 'Canais' }).waitFor(SEEN_WITHIN);
      await page.getByText('Nenhum canal ainda.').waitFor(SEEN_WITHIN);
    } finally {
      await context.close();
    }
  });

  it("shows the operator the test runner's shards, tokens and renewals, and calls it alive only once its counters move", async () => {
    const { context, page } = await newPage();
    try {
      await signIn(page, api.adminKey);
      await page.getByRole('heading', { level: 1, name: 'Clínicas' }).waitFor(SEEN_WITHIN);
      await page.getByRole('link', { name: 'Runners' }).click();
      await page.getByRole('heading', { level: 1, name: 'Runners' }).waitFor();
      const card = page.locator('[data-runner-id="dashboard-runner"]');
      await card.waitFor(SEEN_WITHIN);
      expect(await page.locator('.facts').textContent()).toContain(runners.cluster);
      expect(await page.getByTestId('unowned-shards').textContent()).toBe('Todos os shards têm dono.');

      // Every shard, as the lease records say: the page's table against the API's answer.
      const view = (await api.admin.get('/v1/admin/runners')).body as {
        runners: { runnerId: string; shards: { shard: number; token: number }[] }[];
      };
      const held = view.runners.find((each) => each.runnerId === 'dashboard-runner')?.shards ?? [];
      expect(held.map((lease) => lease.shard)).toEqual(runners.queueUrls.map((_, shard) => shard));
      const rows = card.locator('tbody tr');
      expect(await rows.count()).toBe(held.length);
      for (const lease of held) {
        const cells = await card.locator(`tr[data-shard="${lease.shard}"] td`).allTextContents();
        expect(cells.slice(0, 2)).toEqual([String(lease.shard), String(lease.token)]);
      }

      // One read says nothing: without a heartbeat since, the page is still checking.
      const runnerBadge = card.locator('.list__main [data-liveness]');
      expect(await runnerBadge.getAttribute('data-liveness')).toBe('checking');
      expect(await runnerBadge.textContent()).toMatch(/^Verificando \(até \d+ s\)$/);
      // A heartbeat and a renewal of every lease (a lease round, as the runner's loop runs it).
      await runner.tick();
      await card.locator('.list__main [data-liveness="alive"]').waitFor(SEEN_WITHIN);
      await expect
        .poll(() => card.locator('tbody [data-liveness="alive"]').count(), SEEN_WITHIN)
        .toBe(held.length);
      expect(await card.locator('.list__meta').textContent()).toContain('(relógio do runner)');
      await page.screenshot({ path: `${SCREENSHOTS}/dashboard-runners.png`, fullPage: true });
      expect(await page.getByRole('alert').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it("lists a clinic's channel among the channels by state across clinics, page by page, and for that clinic with its counts", async () => {
    const created = await clinic.client.post('/v1/channels', { name: 'Sala de espera' });
    expect(created.status).toBe(201);
    const channelId = created.body.id as string;
    // More disconnected channels than a page holds (50), in another clinic.
    const crowd = await api.newTenant();
    const crowdIds: string[] = [];
    for (let batch = 0; batch < 6; batch++)
      crowdIds.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, async (_, index) => {
            const answer = await crowd.client.post('/v1/channels', {
              name: `Consultório ${batch * 10 + index}`,
            });
            expect(answer.status).toBe(201);
            return answer.body.id as string;
          }),
        )),
      );
    const { context, page } = await newPage();
    try {
      await signIn(page, api.adminKey);
      await page.getByRole('heading', { level: 1, name: 'Clínicas' }).waitFor(SEEN_WITHIN);
      await page.getByRole('link', { name: 'Canais por estado' }).click();
      await page.getByRole('heading', { level: 1, name: 'Canais por estado' }).waitFor();
      await page.getByTestId('channel-counts').waitFor(SEEN_WITHIN);

      // Across clinics (other tests' channels too), one status: every page to the end, each channel once.
      await page.getByLabel('Estado', { exact: true }).selectOption('disconnected');
      await page.getByRole('button', { name: 'Filtrar' }).click();
      const list = (filter: string, pageNumber: number) =>
        page.locator(
          `[data-testid="channel-list"][data-filter="${filter}"][data-page="${pageNumber}"][data-state="read"]`,
        );
      const seen: string[] = [];
      let pages = 0;
      for (let more = true; more; ) {
        pages++;
        expect(pages).toBeLessThan(200);
        await list('/disconnected', pages).waitFor(SEEN_WITHIN);
        const rows = page.locator('[data-testid="operator-channels"] tbody tr');
        seen.push(
          ...(await rows.evaluateAll((each) => each.map((row) => row.getAttribute('data-channel-id') ?? ''))),
        );
        expect(
          await page
            .locator('[data-testid="operator-channels"] [data-status]:not([data-status="disconnected"])')
            .count(),
        ).toBe(0);
        const next = page.getByRole('button', { name: 'Próxima página' });
        more = (await next.count()) > 0 && (await next.isEnabled());
        if (more) await next.click();
      }
      expect(pages).toBeGreaterThanOrEqual(2);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(expect.arrayContaining([channelId, ...crowdIds]));
      // And back a page, by the cursor it was read from.
      await page.getByRole('button', { name: 'Página anterior' }).click();
      await list('/disconnected', pages - 1).waitFor(SEEN_WITHIN);
      await page.screenshot({ path: `${SCREENSHOTS}/dashboard-operator-channels.png`, fullPage: true });

      // One clinic: its channels, and its counts as the API counts them.
      await page.getByLabel('Clínica (id, opcional)').fill(clinic.tenantId);
      await page.getByRole('button', { name: 'Filtrar' }).click();
      await list(`${clinic.tenantId}/disconnected`, 1).waitFor(SEEN_WITHIN);
      const row = page.locator(`[data-channel-id="${channelId}"]`);
      expect(await row.locator('td').allTextContents()).toEqual(
        expect.arrayContaining(['Sala de espera', clinic.tenantId, 'Desconectado']),
      );
      const own = (await clinic.client.get('/v1/channels?limit=100')).body.items as { status: string }[];
      const disconnected = own.filter((channel) => channel.status === 'disconnected').length;
      await expect
        .poll(() => page.locator('[data-count-status="disconnected"] td').nth(1).textContent(), SEEN_WITHIN)
        .toBe(String(disconnected));
      expect(await page.getByTestId('counts-incomplete').count()).toBe(0);
      expect(await page.getByRole('alert').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('lets a clinic issue its own keys with scopes it holds (shown once) and revoke them, but not itself', async () => {
    const { context, page } = await newPage();
    try {
      await signIn(page, clinic.key);
      await page.getByRole('heading', { level: 1, name: 'Canais' }).waitFor(SEEN_WITHIN);
      await page.getByRole('link', { name: 'Chaves de API' }).click();
      await page.getByRole('heading', { level: 1, name: 'Chaves de API' }).waitFor();
      const ownKeys = (await api.admin.get(`/v1/tenants/${clinic.tenantId}/api-keys`)).body.items as {
        id: string;
        name: string;
      }[];
      const signedIn = page.locator(`[data-key-id="${ownKeys.find((key) => key.name === 'test')?.id}"]`);
      await signedIn.waitFor(SEEN_WITHIN);
      expect(await signedIn.textContent()).toContain('A chave com que você entrou');
      expect(await signedIn.getByRole('button', { name: 'Revogar' }).count()).toBe(0);

      const issue = async (name: string, scopes: string[]) => {
        await page.getByLabel('Nome da chave').fill(name);
        await page.getByLabel('Todos os escopos').uncheck();
        for (const scope of scopes) await page.getByLabel(scope, { exact: true }).check();
        await page.getByRole('button', { name: 'Criar chave' }).click();
        const key = (await page.getByTestId('secret-value').textContent()) ?? '';
        await page.getByRole('button', { name: 'Já copiei' }).click();
        expect(await page.getByTestId('secret-value').count()).toBe(0);
        await page.locator('[data-key-id]', { hasText: name }).waitFor(SEEN_WITHIN);
        return key;
      };
      const limited = await issue('integração', ['keys:manage', 'channels:read']);
      expect(limited).toMatch(/^cwa_/);
      await issue('temporária', ['channels:read']);

      const temporary = page.locator('[data-key-id]', { hasText: 'temporária' });
      await temporary.getByRole('button', { name: 'Revogar' }).click();
      await temporary.getByRole('button', { name: 'Sim, revogar' }).click();
      await temporary.getByText(/^revogada /).waitFor(SEEN_WITHIN);
      const listed = (await api.admin.get(`/v1/tenants/${clinic.tenantId}/api-keys`)).body.items as {
        name: string;
        scopes: string[];
        revokedAt: string | null;
      }[];
      expect(listed.find((key) => key.name === 'temporária')?.revokedAt).not.toBeNull();
      const integration = listed.find((key) => key.name === 'integração');
      expect(integration?.revokedAt).toBeNull();
      expect(integration?.scopes.sort()).toEqual(['channels:read', 'keys:manage']);

      // The limited key: only its own scopes to give, and the clinic's `*` key out of its reach.
      await page.getByRole('button', { name: 'Sair' }).click();
      await signIn(page, limited);
      await page.getByRole('heading', { level: 1, name: 'Canais' }).waitFor(SEEN_WITHIN);
      await page.getByRole('link', { name: 'Chaves de API' }).click();
      await page
        .locator('[data-key-id]', { hasText: 'integração' })
        .getByText('A chave com que você entrou')
        .waitFor(SEEN_WITHIN);
      const offered = await page.locator('fieldset.checks label.check').allTextContents();
      expect(offered.sort()).toEqual(['channels:read', 'keys:manage']);
      expect(await signedIn.textContent()).toContain('Tem escopos que a sua chave não tem (*)');
      expect(await page.getByRole('button', { name: 'Revogar' }).count()).toBe(0);
      await page.screenshot({ path: `${SCREENSHOTS}/dashboard-keys.png`, fullPage: true });
    } finally {
      await context.close();
    }
  });

  it('tells a clinic key without keys:manage that it cannot manage keys, in words', async () => {
    const reader = await api.newTenant(['channels:read']);
    const { context, page } = await newPage();
    try {
      await signIn(page, reader.key);
      await page.getByRole('heading', { level: 1, name: 'Canais' }).waitFor(SEEN_WITHIN);
      await page.getByLabel('Idioma').selectOption('en');
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
      await expect
        .poll(() => page.getByTestId('keys-need-scope').textContent(), SEEN_WITHIN)
        .toContain('that takes the scope keys:manage');
      expect(await page.getByLabel("The key's name").count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});

describe('the dashboard server', () => {
  it('serves the app with the security headers, every page path as index.html, and missing files as 404', async () => {
    const home = await fetch(`${dashboard.url}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(home.headers.get('cache-control')).toBe('no-cache');
    const media = new URL(inject('localAws').endpoint).origin;
    expect(home.headers.get('content-security-policy')).toBe(
      `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: ${media}; ` +
        `media-src 'self' blob: ${media}; connect-src 'self'; font-src 'self'; object-src 'none'; ` +
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(home.headers.get('x-frame-options')).toBe('DENY');
    expect(home.headers.get('x-content-type-options')).toBe('nosniff');
    expect(home.headers.get('referrer-policy')).toBe('no-referrer');
    expect(home.headers.has('strict-transport-security')).toBe(false);
    const html = await home.text();

    const page = await fetch(
      `${dashboard.url}/channels/chn_01JDQ7Z8K3M4N5P6Q7R8S9T0VW/conversations/abcdefghijklmnop`,
    );
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(html);

    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1] ?? '';
    const style = /href="(\/assets\/[^"]+\.css)"/.exec(html)?.[1] ?? '';
    const js = await fetch(`${dashboard.url}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${dashboard.url}${style}`)).headers.get('content-type')).toBe(
      'text/css; charset=utf-8',
    );

    for (const missing of [
      '/assets/index-missing.js',
      '/favicon.ico',
      '/%2e%2e/package.json',
      '/..%2fpackage.json',
    ]) {
      const answer = await fetch(`${dashboard.url}${missing}`);
      expect(answer.status, missing).toBe(404);
      expect(await answer.text()).toBe('Not found\n');
    }
    expect((await fetch(`${dashboard.url}/`, { method: 'POST' })).status).toBe(405);
  });

  it('passes /v1/* to the API, bodies and answers whole, so the page needs no CORS', async () => {
    const document = await fetch(`${dashboard.url}/v1/openapi.json`);
    expect(document.status).toBe(200);
    expect(((await document.json()) as { openapi: string }).openapi).toBe('3.1.0');
    const created = await fetch(`${dashboard.url}/v1/channels`, {
      method: 'POST',
      headers: { authorization: `Bearer ${clinic.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Através do painel' }),
    });
    expect(created.status).toBe(201);
    const channel = (await created.json()) as { id: string; name: string };
    expect(channel.name).toBe('Através do painel');
    expect((await clinic.client.get(`/v1/channels/${channel.id}`)).body.name).toBe('Através do painel');
    const refused = await fetch(`${dashboard.url}/v1/channels`);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
  });

  it('builds the same files from the same sources, in this process or by `npm run dashboard:build`', async () => {
    const again = mkdtempSync(join(tmpdir(), 'dashboard-build-'));
    try {
      // The build script as a deployment runs it: its own process, without the test runner's NODE_ENV.
      const { NODE_ENV: _testEnv, ...env } = process.env;
      const built = spawnSync(process.execPath, ['--import', 'tsx', 'dashboard/tools/build.ts', again], {
        cwd: join(import.meta.dirname, '../..'),
        env,
        encoding: 'utf8',
      });
      expect(built.status, built.stderr).toBe(0);
      const files = (dir: string) =>
        readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile())
          .map((entry) => {
            const path = join(entry.parentPath, entry.name);
            return [path.slice(dir.length), readFileSync(path).toString('base64')];
          })
          .sort(([a], [b]) => String(a).localeCompare(String(b)));
      expect(files(again)).toEqual(files(DEFAULT_DASHBOARD_DIR));
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });
});
