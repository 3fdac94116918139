import { readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptedStream, type WAMessage } from '@whiskeysockets/baileys';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MediaDownloadError, WhatsAppMedia } from '#runner/messages/whatsapp-media.ts';
import { MediaTooLargeError } from '#shared/domain/errors.ts';
import { until } from './support/runner-harness.ts';

/** A media host of the test's own: each path answers with a status and a body. */
const routes = new Map<string, { status: number; body?: Buffer }>();
const requests: string[] = [];
/** Responses the client closed before their body was all sent. */
let cutByClient = 0;
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((request, response) => {
    const path = request.url ?? '/';
    requests.push(path);
    const route = routes.get(path) ?? { status: 404 };
    response.on('close', () => {
      if (!response.writableFinished) cutByClient++;
    });
    response.writeHead(route.status).end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(70_000, 5)]);
let spoolDirectory = '';

beforeEach(() => {
  routes.clear();
  requests.length = 0;
  cutByClient = 0;
  spoolDirectory = join(tmpdir(), `media-spool-${crypto.randomUUID()}`);
});
afterEach(() => rm(spoolDirectory, { recursive: true, force: true }));

/** A document message as a sender's phone makes it (Baileys' own encryption), its file at `path`. */
async function documentAt(path: string, file = PDF) {
  const encrypted = await encryptedStream(file, 'document');
  const ciphertext = await readFile(encrypted.encFilePath);
  await rm(encrypted.encFilePath, { force: true });
  const message = {
    key: { remoteJid: '5511987654321@s.whatsapp.net', id: 'WA1', fromMe: false },
    message: {
      documentMessage: {
        url: `${base}${path}`,
        mediaKey: encrypted.mediaKey,
        fileEncSha256: encrypted.fileEncSha256,
        fileSha256: encrypted.fileSha256,
        fileLength: encrypted.fileLength,
        mimetype: 'application/pdf',
      },
    },
  } as WAMessage;
  return { message, ciphertext };
}

function media(reupload: (message: WAMessage) => Promise<WAMessage>) {
  return new WhatsAppMedia({
    reupload: (message) => reupload(message),
    tuning: { attempts: 3, retry: { baseMs: 1, maxMs: 2 }, idleTimeoutMs: 5_000, spoolDirectory },
  });
}
const noReupload = async (): Promise<WAMessage> => {
  throw new Error('no re-upload expected');
};
const options = () => ({ signal: new AbortController().signal, maxBytes: 1024 * 1024 });

async function plaintextOf(spool: Awaited<ReturnType<WhatsAppMedia['download']>>) {
  const chunks: Uint8Array[] = [];
  for await (const chunk of spool.plaintext(new AbortController().signal)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('received media from WhatsApp’s media host', () => {
  it('spools the encrypted file once checked, decrypts it as it is read, and removes it when done', async () => {
    const { message, ciphertext } = await documentAt('/mms/document/ok');
    routes.set('/mms/document/ok', { status: 200, body: ciphertext });

    const spool = await media(noReupload).download(message, options());

    // On disk: the ciphertext only.
    const files = await readdir(spoolDirectory);
    expect(files).toHaveLength(1);
    expect((await readFile(join(spoolDirectory, files[0] as string))).equals(ciphertext)).toBe(true);
    expect((await plaintextOf(spool)).equals(PDF)).toBe(true);
    await spool.dispose();
    expect(await readdir(spoolDirectory)).toEqual([]);
  });

  it('refuses a file whose bytes are not the sender’s, after trying again', async () => {
    const { message, ciphertext } = await documentAt('/mms/document/corrupt');
    const corrupt = Buffer.from(ciphertext);
    corrupt[1_000] = (corrupt[1_000] ?? 0) ^ 0xff;
    routes.set('/mms/document/corrupt', { status: 200, body: corrupt });

    const failure = await media(noReupload)
      .download(message, options())
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(MediaDownloadError);
    expect(requests).toEqual(['/mms/document/corrupt', '/mms/document/corrupt', '/mms/document/corrupt']);
    expect(await readdir(spoolDirectory)).toEqual([]);
  });

  it('asks the sender for a re-upload when the URL expired, and downloads the new one', async () => {
    const { message, ciphertext } = await documentAt('/mms/document/expired');
    routes.set('/mms/document/expired', { status: 410 });
    routes.set('/mms/document/again', { status: 200, body: ciphertext });
    const asked: WAMessage[] = [];

    const spool = await media(async (expired) => {
      asked.push(expired);
      const document = { ...expired.message?.documentMessage, url: `${base}/mms/document/again` };
      return { ...expired, message: { documentMessage: document } };
    }).download(message, options());

    expect(asked).toEqual([message]);
    expect(requests).toEqual(['/mms/document/expired', '/mms/document/again']);
    expect((await plaintextOf(spool)).equals(PDF)).toBe(true);
  });

  it('gives up at once on a file over the cap, closing the connection to the media host', async () => {
    // 32 MiB: more than the connection buffers, so the host is still sending when the cap cuts it.
    const { message, ciphertext } = await documentAt('/mms/document/large', Buffer.alloc(32 * 1024 * 1024));
    routes.set('/mms/document/large', { status: 200, body: ciphertext });

    const failure = await media(noReupload)
      .download(message, { signal: new AbortController().signal, maxBytes: 10_000 })
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(MediaTooLargeError);
    expect(requests).toEqual(['/mms/document/large']);
    await until(() => cutByClient === 1 || undefined, 'the host to see the download closed');
    expect(await readdir(spoolDirectory)).toEqual([]);
  });

  it('fails the read of a file that decrypts to other bytes than the sender hashed, before its end', async () => {
    const { message, ciphertext } = await documentAt('/mms/document/other');
    routes.set('/mms/document/other', { status: 200, body: ciphertext });
    const document = message.message?.documentMessage;
    if (document) document.fileSha256 = Buffer.alloc(32, 1);

    const spool = await media(noReupload).download(message, options());
    const read: Uint8Array[] = [];
    const failure = await (async () => {
      for await (const chunk of spool.plaintext(new AbortController().signal)) read.push(chunk);
    })().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(MediaDownloadError);
    expect((failure as MediaDownloadError).retryable).toBe(false);
    expect(Buffer.concat(read).length).toBeLessThan(PDF.length);
    await spool.dispose();
  });
});
