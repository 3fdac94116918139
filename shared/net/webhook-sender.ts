import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';
import { DELIVERY_TIMEOUT_MS, RESPONSE_EXCERPT_BYTES } from '../domain/webhook.ts';
import type { WebhookRequest, WebhookResponse, WebhookSender } from '../ports.ts';
import { AddressRefusedError, checkedLookup, type Resolve, systemResolve } from './checked-lookup.ts';
import {
  checkWebhookUrl,
  isAllowedWebhookAddress,
  STRICT_WEBHOOK_URL_POLICY,
  type WebhookUrlPolicy,
} from './webhook-url-policy.ts';

// One try of a webhook delivery: a POST signed as Standard Webhooks says (`webhook-id`,
// `webhook-timestamp`, `webhook-signature` with a `v1,` signature per valid secret, signed by the
// `standardwebhooks` package itself, so a receiver verifies with it unchanged). The URL is the
// clinic's input, so it passes the webhook URL policy again at every try (shared/net/
// webhook-url-policy.ts, the API's rule at creation): the scheme and a literal IP before connecting,
// and every address the name resolves to inside the socket's own lookup, at each connection, so the
// socket connects only to a checked address (DNS rebinding reaches nothing new).
// Redirects are not followed (a 3xx is a failed try). The whole exchange — connection, TLS, the
// answer, the body excerpt — has one deadline; the body is read only up to the excerpt.

export interface WebhookSenderOptions {
  /**
   * Where webhooks may point; strict by default. `allowLoopback` (`WEBHOOK_ALLOW_LOOPBACK`) is for
   * local development and tests: refused inside Lambda (shared/config.ts) and by synthesis.
   */
  readonly policy?: WebhookUrlPolicy;
  /** The deadline of one try; DELIVERY_TIMEOUT_MS unless a test shortens it. */
  readonly timeoutMs?: number;
  readonly resolve?: Resolve;
  readonly now?: () => Date;
}

const USER_AGENT = 'clinic-wa-webhooks/1';
/** Read past the excerpt by a UTF-8 character at most, so its end is cut on a character boundary. */
const EXCERPT_READ_BYTES = RESPONSE_EXCERPT_BYTES + 3;

export function createWebhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const policy = options.policy ?? STRICT_WEBHOOK_URL_POLICY;
  const lookup = checkedLookup(
    (address) => isAllowedWebhookAddress(address, policy),
    options.resolve ?? systemResolve,
  );
  const timeoutMs = options.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const now = options.now ?? (() => new Date());

  return {
    async send(request: WebhookRequest): Promise<WebhookResponse> {
      const started = performance.now();
      const outcome = (partial: Partial<WebhookResponse>): WebhookResponse => ({
        statusCode: null,
        error: null,
        responseExcerpt: null,
        retryAfter: null,
        ...partial,
        latencyMs: Math.round(performance.now() - started),
      });

      const checked = checkWebhookUrl(request.url, policy);
      if (!checked.ok) {
        return outcome({
          error: checked.code === 'webhook_url_forbidden' ? 'address_refused' : 'url_refused',
        });
      }
      const { url } = checked;
      if (request.secrets.length === 0) return outcome({ error: 'no_signing_secret' });

      const timestamp = now();
      const headers = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(request.body)),
        'user-agent': USER_AGENT,
        'webhook-id': request.deliveryId,
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': request.secrets
          .map((secret) => new Webhook(secret).sign(request.deliveryId, timestamp, request.body))
          .join(' '),
      };
      const deadline = new AbortController();
      const timer = setTimeout(
        () => deadline.abort(),
        Math.max(0, Math.min(timeoutMs, request.timeoutMs ?? timeoutMs)),
      );
      try {
        const response = await post(url, headers, request.body, lookup, deadline.signal);
        const retryAfter = [response.headers['retry-after']].flat()[0] ?? null;
        const excerpt = await readExcerpt(response);
        return outcome({ statusCode: response.statusCode ?? null, retryAfter, responseExcerpt: excerpt });
      } catch (error) {
        return outcome({ error: deadline.signal.aborted ? 'timeout' : transportError(error) });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  lookup: ReturnType<typeof checkedLookup>,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // A connection of its own (no pool): each try connects, and is checked, anew.
    const outgoing = request(url, { method: 'POST', headers, lookup, signal, agent: false }, resolve);
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The body up to the excerpt's size, then the connection is closed; what came before a failure counts. */
async function readExcerpt(response: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= EXCERPT_READ_BYTES) break;
    }
  } catch {
    // The deadline or a reset in the middle of the body: the status came, keep what came with it.
  } finally {
    response.destroy();
  }
  const bytes = Buffer.concat(chunks);
  if (bytes.length === 0) return null;
  let end = Math.min(bytes.length, RESPONSE_EXCERPT_BYTES);
  // Never end inside a multi-byte character: back up to the start of the one cut.
  if (end < bytes.length) while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** A machine-readable reason for a try that got no response. */
function transportError(error: unknown): string {
  if (error instanceof AddressRefusedError) return 'address_refused';
  const code = String((error as NodeJS.ErrnoException | undefined)?.code ?? '');
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') return 'dns_error';
  if (code === 'ECONNREFUSED') return 'connection_refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection_reset';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code.startsWith('HPE_')) return 'invalid_response';
  if (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
  ) {
    return 'tls_error';
  }
  return 'connection_error';
}
