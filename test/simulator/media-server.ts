// The media host: clients upload encrypted blobs over HTTPS (Baileys always builds https:// upload
// URLs) and download them from the plain-HTTP url returned by the upload. The server stores
// ciphertext only; the media key travels inside the end-to-end encrypted message.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BinaryNode } from '@whiskeysockets/baileys';
import { node } from './binary.ts';
import { closeServer, trackSockets } from './socket-tracker.ts';

const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

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

export class MediaStore {
  private readonly blobs = new Map<string, Buffer>();

  put(path: string, blob: Buffer): void {
    this.blobs.set(path, blob);
  }

  get(path: string): Buffer | undefined {
    return this.blobs.get(path);
  }

  entries(): IterableIterator<[string, Buffer]> {
    return this.blobs.entries();
  }

  get size(): number {
    return this.blobs.size;
  }
}

export class MediaServer {
  private https?: Server;
  private sockets?: { destroyAll(): void };
  private uploadHost = '';

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
    const blob = this.store.get(path);
    if (!blob) response.writeHead(404).end();
    else
      response
        .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length })
        .end(blob);
    return true;
  }

  async close(): Promise<void> {
    if (this.https && this.sockets) await closeServer(this.https, this.sockets);
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
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_UPLOAD_BYTES) {
        response.writeHead(413).end();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const blob = Buffer.concat(chunks);
    // The token is the base64url SHA-256 of the encrypted file: check it like the real host does.
    if (createHash('sha256').update(blob).digest('base64url') !== token.replace(/=+$/, '')) {
      response
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'hash mismatch' }));
      return;
    }
    const mediaType = url.pathname.split('/')[2] ?? 'file';
    const path = `/mms/${mediaType}/${token}`;
    this.store.put(path, blob);
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ url: `${this.downloadBaseUrl()}${path}` }));
  }
}
