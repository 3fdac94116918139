// The media host: clients upload encrypted blobs over HTTPS (Baileys always builds https:// upload
// URLs) and download them from the plain-HTTP url returned by the upload. The server stores
// ciphertext only; the media key travels inside the end-to-end encrypted message.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BinaryNode } from '@whiskeysockets/baileys';
import { node } from './binary.ts';
import type { FaultState } from './faults.ts';
import { closeServer, trackSockets } from './socket-tracker.ts';

/** WhatsApp's own limit for a document. */
const MAX_UPLOAD_BYTES = 2 * 1024 * 1024 * 1024;
/** Larger uploads are kept in a file, not in memory (a test may send a few hundred MB). */
const IN_MEMORY_BYTES = 16 * 1024 * 1024;

export interface TlsCertificate {
  readonly keyPem: string;
  readonly certPem: string;
}

let processCertificate: TlsCertificate | undefined;

/** A self-signed certificate for 127.0.0.1/localhost, made once per process with the openssl CLI. */
export function mediaCertificate(): TlsCertificate {
  if (processCertificate) return processCertificate;
  const directory = mkdtempSync(join(tmpdir(), 'wa-sim-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '3650',
        '-subj',
        '/CN=WhatsApp simulator media',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(directory, 'key.pem'),
        '-out',
        join(directory, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    processCertificate = {
      keyPem: readFileSync(join(directory, 'key.pem'), 'utf8'),
      certPem: readFileSync(join(directory, 'cert.pem'), 'utf8'),
    };
    return processCertificate;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** A blob kept in a file of the store's own directory. */
interface FileBlob {
  readonly file: string;
  readonly size: number;
}

export class MediaStore {
  private readonly blobs = new Map<string, Buffer | FileBlob>();
  private directory: string | undefined;

  put(path: string, blob: Buffer): void {
    this.blobs.set(path, blob);
  }

  /** Where a large upload is written before `putFile` keeps it. */
  newFile(): string {
    this.directory ??= mkdtempSync(join(tmpdir(), 'wa-sim-media-'));
    return join(this.directory, `${this.blobs.size}-${Math.random().toString(36).slice(2)}`);
  }

  putFile(path: string, file: string, size: number): void {
    this.blobs.set(path, { file, size });
  }

  get(path: string): Buffer | undefined {
    const blob = this.blobs.get(path);
    return blob && !Buffer.isBuffer(blob) ? readFileSync(blob.file) : blob;
  }

  /** The blob's size and a way to read it without holding it in memory. */
  open(path: string): { size: number; stream: () => NodeJS.ReadableStream } | undefined {
    const blob = this.blobs.get(path);
    if (!blob) return undefined;
    if (Buffer.isBuffer(blob)) return { size: blob.length, stream: () => Readable.from([blob]) };
    return { size: blob.size, stream: () => createReadStream(blob.file) };
  }

  /** Every blob, read into memory (for snapshots, which only tests with small media use). */
  *entries(): IterableIterator<[string, Buffer]> {
    for (const path of this.blobs.keys()) yield [path, this.get(path) as Buffer];
  }

  get size(): number {
    return this.blobs.size;
  }

  /** Removes the files of large blobs. */
  dispose(): void {
    if (this.directory) rmSync(this.directory, { recursive: true, force: true });
    this.directory = undefined;
  }
}

/** How a download went: sent whole, cut by a fault (reset, or stalled and still open), or closed by the client first. */
export type MediaDownloadOutcome = 'sending' | 'complete' | 'reset' | 'stalled' | 'closed by client';

export interface MediaDownload {
  readonly path: string;
  outcome: MediaDownloadOutcome;
}

export class MediaServer {
  private https?: Server;
  private sockets?: { destroyAll(): void };
  private uploadHost = '';
  /** Faults that cut downloads (`FaultState.cutMediaDownloads`). */
  faults: FaultState | undefined;
  /** Every download served, in order, with how it went. */
  readonly downloads: MediaDownload[] = [];

  constructor(
    readonly store: MediaStore,
    private readonly downloadBaseUrl: () => string,
    readonly certificate: TlsCertificate = mediaCertificate(),
  ) {}

  async listen(host: string, port = 0): Promise<void> {
    this.https = createServer(
      { key: this.certificate.keyPem, cert: this.certificate.certPem },
      (request, response) => void this.handleUpload(request, response),
    );
    this.sockets = trackSockets(this.https);
    await new Promise<void>((resolve) => this.https?.listen(port, host, resolve));
    const address = this.https.address() as AddressInfo;
    this.uploadHost = `${host}:${address.port}`;
  }

  /** The `<media_conn>` answer: where to upload, with an auth token the upload must carry. */
  mediaConnNode(): BinaryNode {
    return node('media_conn', { auth: 'simulator', ttl: '3600', auth_ttl: '3600', max_buckets: '12' }, [
      node('host', { hostname: this.uploadHost, maxContentLengthBytes: String(MAX_UPLOAD_BYTES) }),
    ]);
  }

  /** Serves `GET /mms/...` on the plain HTTP server. Returns false when the path is not media. */
  serveDownload(request: IncomingMessage, response: ServerResponse): boolean {
    const path = new URL(request.url ?? '/', 'http://simulator').pathname;
    if (request.method !== 'GET' || !path.startsWith('/mms/')) return false;
    const blob = this.store.open(path);
    if (!blob) {
      response.writeHead(404).end();
      return true;
    }
    const download: MediaDownload = { path, outcome: 'sending' };
    this.downloads.push(download);
    response.on('close', () => {
      if (download.outcome === 'sending' || download.outcome === 'stalled')
        download.outcome = response.writableFinished ? 'complete' : 'closed by client';
    });
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.size });
    const fault = this.faults?.takeMediaFault();
    if (!fault) pipeline(blob.stream(), response).catch(() => response.destroy());
    else void this.cut(blob.stream(), request, response, download, fault);
    return true;
  }

  /** Sends the first `afterBytes` of the body, then resets the connection or stops sending. */
  private async cut(
    body: NodeJS.ReadableStream,
    request: IncomingMessage,
    response: ServerResponse,
    download: MediaDownload,
    fault: { mode: 'reset' | 'stall'; afterBytes: number },
  ): Promise<void> {
    let sent = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const part = chunk.subarray(0, fault.afterBytes - sent);
      sent += part.length;
      // Each part handed to the kernel before the next (and before a reset, which would drop it).
      if (part.length > 0) await new Promise((written) => response.write(part, written));
      if (sent >= fault.afterBytes) break;
    }
    if (fault.mode === 'reset') {
      download.outcome = 'reset';
      request.socket.resetAndDestroy();
    } else download.outcome = 'stalled';
  }

  async close(): Promise<void> {
    if (this.https && this.sockets) await closeServer(this.https, this.sockets);
    this.store.dispose();
  }

  private async handleUpload(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'https://simulator');
    const token = url.searchParams.get('token');
    if (
      request.method !== 'POST' ||
      !url.pathname.startsWith('/mms/') ||
      url.searchParams.get('auth') !== 'simulator' ||
      !token
    ) {
      response
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'bad upload' }));
      return;
    }
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let file: { path: string; stream: NodeJS.WritableStream } | undefined;
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_UPLOAD_BYTES) {
        file?.stream.end();
        response.writeHead(413).end();
        return;
      }
      hash.update(chunk);
      if (!file && size > IN_MEMORY_BYTES) {
        const path = this.store.newFile();
        file = { path, stream: createWriteStream(path) };
        for (const held of chunks.splice(0)) file.stream.write(held);
      }
      if (!file) chunks.push(chunk);
      else if (!file.stream.write(chunk)) await new Promise((drained) => file?.stream.once('drain', drained));
    }
    if (file) {
      const written = file.stream;
      await new Promise<void>((finished) => written.end(() => finished()));
    }
    // The token is the base64url SHA-256 of the encrypted file: check it like the real host does.
    if (hash.digest('base64url') !== token.replace(/=+$/, '')) {
      if (file) rmSync(file.path, { force: true });
      response
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'hash mismatch' }));
      return;
    }
    const mediaType = url.pathname.split('/')[2] ?? 'file';
    const path = `/mms/${mediaType}/${token}`;
    if (file) this.store.putFile(path, file.path, size);
    else this.store.put(path, Buffer.concat(chunks));
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ url: `${this.downloadBaseUrl()}${path}` }));
  }
}
