// The admin HTTP API: virtual phones and faults, for tests in other processes and the local
// platform. Contract documented in README.md; errors are { error: { code, message } }.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { PhoneBook } from './phone-book.ts';
import type { SimulatorServer } from './server.ts';
import { PhoneError, type VirtualPhone } from './virtual-phone.ts';

const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface AdminApiDependencies {
  readonly server: SimulatorServer;
  readonly phones: PhoneBook;
  readonly trust: () => { rootPublicKey: string; wsUrl: string; mediaCaPem?: string };
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// A number arrives as the platform's public API writes it, E.164 with its `+` (`+5511987654321`),
// or as the bare digits the simulator keys phones, accounts and JIDs by. Both are read into the
// digits here, for bodies and path segments alike; answers carry the digits.
const phoneNumberSchema = z
  .string()
  .regex(/^\+?[1-9][0-9]{6,14}$/, 'E.164 (+5511987654321) or its digits: 7–15 digits, country code first')
  .transform((number) => (number.startsWith('+') ? number.slice(1) : number));
const deviceSelectorSchema = z.object({
  phoneNumber: phoneNumberSchema.optional(),
  deviceId: z.number().int().min(0).optional(),
});
const schemas = {
  createPhone: z.object({ phoneNumber: phoneNumberSchema }),
  scan: z.object({ qr: z.string().min(1) }),
  pairingCode: z.object({
    code: z.string().regex(/^[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}$/, '8 characters, optional dash'),
  }),
  message: z.union([
    z.object({ to: phoneNumberSchema, text: z.string().min(1).max(65_536) }),
    z.object({
      to: phoneNumberSchema,
      media: z.object({
        kind: z.enum(['image', 'video', 'document', 'audio']),
        base64: z.string().min(1),
        mimetype: z.string().min(3),
        fileName: z.string().min(1).optional(),
        caption: z.string().optional(),
      }),
    }),
  ]),
  read: z.object({ messageId: z.string().min(1) }),
  drop: deviceSelectorSchema,
  delay: z.object({
    delayMs: z.number().int().min(0).max(60_000),
    jitterMs: z.number().int().min(0).max(60_000).optional(),
  }),
  streamError: deviceSelectorSchema.extend({
    code: z.union([z.literal(401), z.literal(440), z.literal(503), z.literal(515)]),
  }),
  refuse: z.object({ durationMs: z.number().int().min(0).max(3_600_000) }),
  media: z.object({
    mode: z.enum(['reset', 'stall']),
    afterBytes: z.number().int().min(0),
    count: z.number().int().min(1).optional(),
  }),
};

const PHONE_ERROR_STATUS: Record<PhoneError['code'], number> = {
  recipient_not_on_whatsapp: 422,
  qr_invalid: 422,
  pairing_code_not_requested: 409,
  pairing_code_invalid: 422,
  message_not_found: 404,
  device_not_found: 404,
  phone_not_connected: 503,
};

export function createAdminApi(deps: AdminApiDependencies) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    try {
      const url = new URL(request.url ?? '/', 'http://simulator');
      const result = await route(deps, request.method ?? 'GET', pathSegments(url), request);
      const body = result.body === undefined ? '' : JSON.stringify(result.body);
      response.writeHead(result.status, body ? { 'content-type': 'application/json' } : {}).end(body);
    } catch (error) {
      const apiError = toApiError(error);
      response
        .writeHead(apiError.status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: apiError.code, message: apiError.message } }));
    }
  };
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof PhoneError)
    return new ApiError(PHONE_ERROR_STATUS[error.code], error.code, error.message);
  return new ApiError(500, 'internal', 'the simulator failed to handle the request');
}

interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

async function route(
  deps: AdminApiDependencies,
  method: string,
  path: string[],
  request: IncomingMessage,
): Promise<Reply> {
  const [first, second, third, fourth, fifth] = path;
  const key = `${method} /${[first, second && ':phone', third, fourth && ':device', fifth].filter(Boolean).join('/')}`;
  if (first === 'faults') return routeFaults(deps, method, second, request);
  switch (key) {
    case 'GET /trust':
      return { status: 200, body: deps.trust() };
    case 'GET /health':
      return { status: 200, body: { status: 'ok', connectedDevices: deps.server.connectedCount } };
    case 'GET /phones':
      return { status: 200, body: { phones: deps.phones.list().map(describePhone) } };
    case 'POST /phones': {
      const { phoneNumber } = await readBody(request, schemas.createPhone);
      const existed = deps.phones.get(phoneNumber) !== undefined;
      const phone = await deps.phones.create(phoneNumber);
      return { status: existed ? 200 : 201, body: describePhone(phone) };
    }
    case 'GET /phones/:phone':
      return { status: 200, body: describePhone(phoneOf(deps, second)) };
    case 'POST /phones/:phone/scan': {
      const phone = phoneOf(deps, second);
      const { qr } = await readBody(request, schemas.scan);
      return { status: 200, body: linked(phone, await phone.scanQr(qr)) };
    }
    case 'POST /phones/:phone/pairing-code': {
      const phone = phoneOf(deps, second);
      const { code } = await readBody(request, schemas.pairingCode);
      return { status: 200, body: linked(phone, await phone.enterPairingCode(code)) };
    }
    case 'POST /phones/:phone/messages': {
      const phone = phoneOf(deps, second);
      const body = await readBody(request, schemas.message);
      const sent =
        'text' in body
          ? await phone.sendText(body.to, body.text)
          : await phone.sendMedia(body.to, { ...body.media, data: Buffer.from(body.media.base64, 'base64') });
      return { status: 201, body: { ...sent } };
    }
    case 'GET /phones/:phone/messages': {
      const phone = phoneOf(deps, second);
      return { status: 200, body: { received: phone.received, sent: [...phone.sent.values()] } };
    }
    case 'POST /phones/:phone/read': {
      const phone = phoneOf(deps, second);
      const { messageId } = await readBody(request, schemas.read);
      await phone.markRead(messageId);
      return { status: 204 };
    }
    case 'POST /phones/:phone/history-sync': {
      await phoneOf(deps, second).sendHistorySync();
      return { status: 202 };
    }
    case 'POST /phones/:phone/devices/:device/logout': {
      const phone = phoneOf(deps, second);
      const deviceId = Number(fourth);
      if (!Number.isInteger(deviceId))
        throw new ApiError(400, 'invalid_request', 'deviceId: must be an integer');
      phone.logoutDevice(deviceId);
      return { status: 204 };
    }
    default:
      throw new ApiError(404, 'not_found', `no route ${method} /${path.join('/')}`);
  }
}

async function routeFaults(
  deps: AdminApiDependencies,
  method: string,
  action: string | undefined,
  request: IncomingMessage,
): Promise<Reply> {
  const { server } = deps;
  switch (`${method} ${action ?? ''}`) {
    case 'GET ':
      return { status: 200, body: server.faults.current };
    case 'DELETE ':
      server.faults.reset();
      return { status: 204 };
    case 'POST drop':
      return {
        status: 200,
        body: { affected: server.dropConnections(await readBody(request, schemas.drop)) },
      };
    case 'POST delay': {
      const { delayMs, jitterMs } = await readBody(request, schemas.delay);
      server.faults.delayFrames(delayMs, jitterMs ?? 0);
      return { status: 200, body: server.faults.current };
    }
    case 'POST stream-error': {
      const { code, ...selector } = await readBody(request, schemas.streamError);
      return { status: 200, body: { affected: server.sendStreamError(code, selector) } };
    }
    case 'POST media': {
      const { mode, afterBytes, count } = await readBody(request, schemas.media);
      server.faults.cutMediaDownloads(mode, afterBytes, count);
      return { status: 200, body: server.faults.current };
    }
    case 'POST refuse': {
      const { durationMs } = await readBody(request, schemas.refuse);
      server.faults.refuseConnections(durationMs);
      return { status: 200, body: server.faults.current };
    }
    default:
      throw new ApiError(404, 'not_found', `no route ${method} /faults${action ? `/${action}` : ''}`);
  }
}

/** The path's segments, percent-decoded: a client may write the `+` of a number as `%2B`. */
function pathSegments(url: URL): string[] {
  try {
    return url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new ApiError(400, 'invalid_request', 'the path is not valid percent-encoding');
  }
}

/** The phone that `{phoneNumber}` of the path names, in either form the bodies accept. */
function phoneOf(deps: AdminApiDependencies, segment: string | undefined): VirtualPhone {
  const parsed = phoneNumberSchema.safeParse(segment);
  if (!parsed.success)
    throw new ApiError(400, 'invalid_request', `phoneNumber: ${parsed.error.issues[0]?.message}`);
  const phone = deps.phones.get(parsed.data);
  if (!phone) throw new ApiError(404, 'phone_not_found', `no virtual phone ${parsed.data}`);
  return phone;
}

function describePhone(phone: VirtualPhone) {
  return {
    phoneNumber: phone.phoneNumber,
    jid: phone.jid,
    lid: `${phone.account.lid}@lid`,
    connected: phone.connected,
    linkedDevices: phone.linkedDevices(),
  };
}

function linked(phone: VirtualPhone, deviceId: number) {
  return {
    deviceId,
    jid: `${phone.phoneNumber}:${deviceId}@s.whatsapp.net`,
    lid: `${phone.account.lid}:${deviceId}@lid`,
  };
}

async function readBody<T>(request: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new ApiError(413, 'payload_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  let json: unknown;
  try {
    json = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
  } catch {
    throw new ApiError(400, 'invalid_request', 'the body is not valid JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`,
    );
    throw new ApiError(400, 'invalid_request', fields.join('; '));
  }
  return parsed.data;
}
