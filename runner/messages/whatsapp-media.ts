// Received media, fetched from WhatsApp's media host by the runner itself rather than by Baileys'
// `downloadMediaMessage`: Baileys pipes the HTTP body into its decipher with `pipe`, which passes no
// error on (a connection reset mid-body was an uncaught exception that ended the runner, and the
// reader of the decipher waited forever), takes no AbortSignal (a stalled body held its download
// slot for good) and checks neither the MAC nor `fileEncSha256` (a truncated file could be stored
// as the patient's). Here the encrypted file is streamed with `pipeline` (every error reaches the
// caller, every stream is destroyed) under an idle and a total timeout and the caller's signal, to a
// spool file on local disk, checked against WhatsApp's hash and MAC; it is decrypted only as it is
// read for the media store, so an upload that fails is tried again from the spool without
// downloading again. The spool holds ciphertext: plaintext never touches the disk.
import { createDecipheriv, createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DEFAULT_ORIGIN,
  extractMessageContent,
  getContentType,
  getMediaKeys,
  getUrlFromDirectPath,
  type MediaType,
  type proto,
  type WAMessage,
} from '@whiskeysockets/baileys';
import { MediaTooLargeError } from '#shared/domain/errors.ts';
import { type BackoffPolicy, backoffDelay } from '../sessions/backoff.ts';

export interface MediaDownloadTuning {
  /** No byte for this long and a download is abandoned (then tried again). */
  readonly idleTimeoutMs: number;
  /** A download still going after this long is abandoned (then tried again). */
  readonly totalTimeoutMs: number;
  /** Downloads of one file, re-upload request included, before it is `download_failed`. */
  readonly attempts: number;
  readonly retry: BackoffPolicy;
  /** How long the sender's phone has to answer a re-upload request. */
  readonly reuploadTimeoutMs: number;
  /** Where encrypted downloads wait for their upload. */
  readonly spoolDirectory: string;
}

export const DEFAULT_MEDIA_DOWNLOAD: MediaDownloadTuning = {
  idleTimeoutMs: 30_000,
  totalTimeoutMs: 15 * 60_000,
  attempts: 4,
  retry: { baseMs: 1_000, maxMs: 10_000 },
  reuploadTimeoutMs: 30_000,
  spoolDirectory: join(tmpdir(), 'clinic-wa-inbound-media'),
};

/** Why a received file could not be had; `retryable` when another download may succeed. */
export class MediaDownloadError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MediaDownloadError';
  }
}

/** The media host answered with a status: 404 and 410 mean the URL expired (Baileys' reading too). */
class MediaHostError extends MediaDownloadError {
  constructor(readonly status: number) {
    super(`the media host answered ${status}`, status === 408 || status === 429 || status >= 500);
  }

  get expired(): boolean {
    return this.status === 404 || this.status === 410;
  }
}

/** A downloaded file, encrypted on local disk until it is read. */
export interface SpooledMedia {
  /** The decrypted bytes; the last read fails if they are not the sender's (`fileSha256`). */
  plaintext(signal: AbortSignal): AsyncIterable<Uint8Array>;
  /** Removes the spool file. */
  dispose(): Promise<void>;
}

export interface WhatsAppMediaDeps {
  /**
   * Asks the sender's phone to upload the file again (WhatsApp keeps media for a while only) and
   * resolves with the message pointing at the new upload.
   */
  readonly reupload: (message: WAMessage, signal: AbortSignal) => Promise<WAMessage>;
  readonly tuning?: Partial<MediaDownloadTuning>;
  /** Told of each failed download that will be tried again. */
  readonly onRetry?: (error: unknown) => void;
}

const MAC_BYTES = 10;
const AES_BLOCK = 16;

/** Where a media message's file is and how to check and decrypt it. */
interface MediaSource {
  readonly url: string;
  readonly keys: { iv: Uint8Array; cipherKey: Uint8Array; macKey: Uint8Array };
  readonly fileEncSha256: Uint8Array | null;
  readonly fileSha256: Uint8Array | null;
}

/** Fetches received files from WhatsApp's media host, for one channel (re-uploads go through its socket). */
export class WhatsAppMedia {
  private readonly tuning: MediaDownloadTuning;

  constructor(private readonly deps: WhatsAppMediaDeps) {
    this.tuning = { ...DEFAULT_MEDIA_DOWNLOAD, ...deps.tuning };
  }

  /**
   * Downloads the message's file to the spool, retrying what may pass (a reset, a stall, a 5xx, a
   * file that does not check out) with backoff and asking the sender for a re-upload once when the
   * URL expired. Throws `MediaDownloadError` when it cannot be had, `MediaTooLargeError` past
   * `maxBytes`, and the signal's reason once `signal` aborts (the connection is gone).
   */
  async download(
    message: WAMessage,
    options: { signal: AbortSignal; maxBytes: number },
  ): Promise<SpooledMedia> {
    const { signal, maxBytes } = options;
    await mkdir(this.tuning.spoolDirectory, { recursive: true, mode: 0o700 });
    let current = message;
    let reuploaded = false;
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      const file = join(this.tuning.spoolDirectory, randomUUID());
      try {
        const source = await sourceOf(current);
        const bytes = await this.fetchToFile(source, file, signal, maxBytes);
        return spooled(file, bytes, source);
      } catch (caught) {
        await rm(file, { force: true });
        signal.throwIfAborted();
        if (caught instanceof MediaTooLargeError) throw caught;
        const error = asDownloadError(caught);
        const expired = error instanceof MediaHostError && error.expired && !reuploaded;
        if (attempt >= this.tuning.attempts || !(error.retryable || expired)) throw error;
        this.deps.onRetry?.(error);
        if (expired) {
          reuploaded = true;
          current = await this.reupload(current, signal);
        } else await sleep(backoffDelay(attempt - 1, this.tuning.retry), signal);
      }
    }
  }

  private async reupload(message: WAMessage, signal: AbortSignal): Promise<WAMessage> {
    try {
      return await this.deps.reupload(
        message,
        AbortSignal.any([signal, AbortSignal.timeout(this.tuning.reuploadTimeoutMs)]),
      );
    } catch (error) {
      signal.throwIfAborted();
      throw new MediaDownloadError('the sender did not upload the file again', false, { cause: error });
    }
  }

  /** One download into `file`, checked; its length. */
  private async fetchToFile(
    source: MediaSource,
    file: string,
    signal: AbortSignal,
    maxBytes: number,
  ): Promise<number> {
    const { idleTimeoutMs, totalTimeoutMs } = this.tuning;
    const stall = new AbortController();
    const attempt = AbortSignal.any([signal, stall.signal, AbortSignal.timeout(totalTimeoutMs)]);
    const idle = setTimeout(
      () => stall.abort(new MediaDownloadError(`no bytes from the media host for ${idleTimeoutMs} ms`, true)),
      idleTimeoutMs,
    );
    try {
      const response = await fetch(source.url, { signal: attempt, headers: { Origin: DEFAULT_ORIGIN } });
      if (!response.ok || !response.body) {
        await response.body?.cancel().catch(() => undefined);
        throw new MediaHostError(response.status);
      }
      idle.refresh();
      // Encrypted: the plaintext padded to whole AES blocks, then the MAC.
      const check = new EncryptedFileCheck(source, maxBytes + AES_BLOCK + MAC_BYTES, maxBytes, () =>
        idle.refresh(),
      );
      // Whatever fails (the body, the check, the disk, the signal), every stream is destroyed: the
      // connection to the media host is closed, and the error is this call's.
      await pipeline(Readable.fromWeb(response.body), check, createWriteStream(file), { signal: attempt });
      check.verify();
      return check.bytes;
    } catch (error) {
      // A stall or a timeout aborts with its own reason; the fetch reports only that it was aborted.
      if (stall.signal.aborted && !signal.aborted) throw stall.signal.reason;
      throw error;
    } finally {
      clearTimeout(idle);
    }
  }
}

/** The message's file: its URL (as Baileys builds it), keys and hashes. */
async function sourceOf(message: WAMessage): Promise<MediaSource> {
  const content = extractMessageContent(message.message);
  const type = getContentType(content);
  const media = (type ? content?.[type] : undefined) as proto.Message.IDocumentMessage | null | undefined;
  const mediaType = type?.replace('Message', '') as MediaType | undefined;
  const host = media?.url ? hostOf(media.url) : undefined;
  const url = media?.directPath ? getUrlFromDirectPath(media.directPath, host) : media?.url;
  if (!media?.mediaKey?.length || !url || !mediaType)
    throw new MediaDownloadError('the message names no file to download', false);
  const { iv, cipherKey, macKey } = await getMediaKeys(media.mediaKey, mediaType);
  if (!macKey) throw new MediaDownloadError('the media key gives no MAC key', false);
  return {
    url,
    keys: { iv, cipherKey, macKey },
    fileEncSha256: media.fileEncSha256?.length ? media.fileEncSha256 : null,
    fileSha256: media.fileSha256?.length ? media.fileSha256 : null,
  };
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/**
 * Counts, hashes and MACs the encrypted file as it passes; past `maxEncryptedBytes` the download is
 * cut (`MediaTooLargeError`). WhatsApp's MAC is the first 10 bytes of HMAC-SHA256(macKey, iv ‖
 * ciphertext), appended to the ciphertext; `fileEncSha256` is the SHA-256 of both.
 */
class EncryptedFileCheck extends Transform {
  bytes = 0;
  private readonly sha256 = createHash('sha256');
  private readonly mac;
  /** The last bytes seen: the MAC once the file ends, so they are not fed to the HMAC yet. */
  private tail = Buffer.alloc(0);

  constructor(
    private readonly source: MediaSource,
    private readonly maxEncryptedBytes: number,
    private readonly maxBytes: number,
    private readonly onBytes: () => void,
  ) {
    super();
    this.mac = createHmac('sha256', source.keys.macKey).update(source.keys.iv);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.onBytes();
    this.bytes += chunk.length;
    if (this.bytes > this.maxEncryptedBytes) {
      callback(new MediaTooLargeError(this.maxBytes));
      return;
    }
    this.sha256.update(chunk);
    const seen = this.tail.length + chunk.length > MAC_BYTES ? Buffer.concat([this.tail, chunk]) : null;
    if (seen) {
      this.mac.update(seen.subarray(0, seen.length - MAC_BYTES));
      this.tail = Buffer.from(seen.subarray(seen.length - MAC_BYTES));
    } else this.tail = Buffer.concat([this.tail, chunk]);
    callback(null, chunk);
  }

  /** Throws (retryable: the next download may be whole) unless the file is WhatsApp's. */
  verify(): void {
    const ciphertext = this.bytes - MAC_BYTES;
    if (ciphertext < AES_BLOCK || ciphertext % AES_BLOCK !== 0)
      throw new MediaDownloadError(`the file ended after ${this.bytes} bytes`, true);
    const { fileEncSha256 } = this.source;
    if (fileEncSha256 && !this.sha256.digest().equals(fileEncSha256))
      throw new MediaDownloadError('the file is not the one the message names (fileEncSha256)', true);
    if (!timingSafeEqual(this.mac.digest().subarray(0, MAC_BYTES), this.tail))
      throw new MediaDownloadError('the file’s MAC does not match', true);
  }
}

function spooled(file: string, bytes: number, source: MediaSource): SpooledMedia {
  return {
    async *plaintext(signal) {
      const decipher = createDecipheriv('aes-256-cbc', source.keys.cipherKey, source.keys.iv);
      const sha256 = createHash('sha256');
      for await (const chunk of createReadStream(file, { end: bytes - MAC_BYTES - 1, signal })) {
        const plain = decipher.update(chunk as Buffer);
        sha256.update(plain);
        if (plain.length > 0) yield plain;
      }
      let last: Buffer;
      try {
        last = decipher.final();
      } catch (error) {
        throw new MediaDownloadError('the file does not decrypt', false, { cause: error });
      }
      sha256.update(last);
      // Checked before the last bytes go: a file that is not the sender's is never stored whole.
      if (source.fileSha256 && !sha256.digest().equals(source.fileSha256))
        throw new MediaDownloadError('the decrypted file is not the sender’s (fileSha256)', false);
      if (last.length > 0) yield last;
    },
    dispose: () => rm(file, { force: true }),
  };
}

function asDownloadError(error: unknown): MediaDownloadError {
  if (error instanceof MediaDownloadError) return error;
  // A reset or refused connection, a DNS failure, the total timeout, a full disk: another try may pass.
  return new MediaDownloadError('the download failed', true, { cause: error });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', aborted);
    };
    const aborted = () => {
      done();
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal.addEventListener('abort', aborted, { once: true });
  });
}
