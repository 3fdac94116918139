import { ValidationError } from '#shared/domain/errors.ts';
import type { EventType } from '#shared/domain/events.ts';
import type { OutboundMessage } from '#shared/domain/outbound-message.ts';
import type { PageRequest } from '#shared/domain/pagination.ts';
import type { MessageFilter } from '#shared/ports.ts';
import { type ContactCheckDependencies, checkContacts, getContactCheck } from '#shared/use-cases/contacts.ts';
import { type EventLogDependencies, listEvents } from '#shared/use-cases/events.ts';
import {
  getMediaDownload,
  type MediaDependencies,
  startMediaUpload,
  uploadMedia,
} from '#shared/use-cases/media.ts';
import {
  getMessage,
  listMessages,
  type MessageDependencies,
  markMessageRead,
  sendMessage,
} from '#shared/use-cases/messages.ts';
import { type RouteImplementation, type RouteInput, tenantOf } from '../http/api-router.ts';
import { eventView, messageView, pageView } from '../http/presenters.ts';

/** A channel's messages: send, list, read one, mark read; contact checks, media, the event log. */
export function messageRoutes(
  deps: MessageDependencies & ContactCheckDependencies & MediaDependencies & EventLogDependencies,
): Record<string, RouteImplementation> {
  const messagePage = async (input: RouteInput, request: PageRequest & MessageFilter) => ({
    status: 200,
    body: pageView(await listMessages(deps, tenantOf(input), channelIdOf(input), request), messageView),
  });
  return {
    sendMessage: async (input) => {
      // The key also reaches the use case: a re-execution must not make a second message.
      const message = await sendMessage(
        deps,
        tenantOf(input),
        channelIdOf(input),
        input.body as OutboundMessage,
        {
          requestKey: input.idempotencyKey,
        },
      );
      return { status: 202, body: { id: message.id, status: 'queued' } };
    },
    listMessages: (input) => messagePage(input, input.query as PageRequest & MessageFilter),
    // The same list, its filter read from the body (a contact's number kept out of the URL).
    searchMessages: (input) => messagePage(input, input.body as PageRequest & MessageFilter),
    getMessage: async (input) => ({
      status: 200,
      body: messageView(
        await getMessage(deps, tenantOf(input), channelIdOf(input), input.params.messageId as string),
      ),
    }),
    markMessageRead: async (input) => {
      const messageId = input.params.messageId as string;
      await markMessageRead(deps, tenantOf(input), channelIdOf(input), messageId);
      return { status: 202, body: { id: messageId, status: 'read_requested' } };
    },
    checkContacts: async (input) => {
      const { phoneNumbers } = input.body as { phoneNumbers: string[] };
      const check = await checkContacts(deps, tenantOf(input), channelIdOf(input), phoneNumbers);
      return { status: check.status === 'done' ? 200 : 202, body: check };
    },
    uploadMedia: async (input) => ({
      status: 201,
      body: await uploadMedia(deps, tenantOf(input), await uploadedFile(input)),
    }),
    startMediaUpload: async (input) => {
      const { mimeType, fileName, size } = input.body as {
        mimeType: string;
        fileName?: string;
        size: number;
      };
      return {
        status: 201,
        body: await startMediaUpload(deps, tenantOf(input), { mimeType, fileName: fileName ?? null, size }),
      };
    },
    getMedia: async (input) => ({
      status: 200,
      body: await getMediaDownload(deps, tenantOf(input), input.params.mediaId as string),
    }),
    listEvents: async (input) => {
      const { after, cursor, types, channelId, limit } = input.query as {
        after?: string;
        cursor?: string;
        types?: string;
        channelId?: string;
        limit?: number;
      };
      const page = await listEvents(deps, tenantOf(input), {
        ...(after !== undefined ? { after } : {}),
        ...(cursor !== undefined ? { cursor } : {}),
        ...(types !== undefined ? { types: [...new Set(types.split(','))] as EventType[] } : {}),
        ...(channelId !== undefined ? { channelId } : {}),
        ...(limit !== undefined ? { limit } : {}),
      });
      return { status: 200, body: pageView(page, eventView) };
    },
    getContactCheck: async (input) => ({
      status: 200,
      body: await getContactCheck(deps, tenantOf(input), channelIdOf(input), input.params.checkId as string),
    }),
  };
}

/** The file of an upload: the `file` part of a multipart form, or the body itself. */
async function uploadedFile(
  input: RouteInput,
): Promise<{ data: Buffer; mimeType: string; fileName: string | null }> {
  const contentType = input.headers.get('content-type') ?? 'application/octet-stream';
  if (/^multipart\/form-data/i.test(contentType)) {
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(input.rawBody), {
        headers: { 'content-type': contentType },
      }).formData();
    } catch {
      throw new ValidationError('The multipart form cannot be read', [
        { field: 'body', message: 'not a valid multipart form' },
      ]);
    }
    const file = form.get('file');
    if (!(file instanceof File)) {
      throw new ValidationError('The form needs a file part', [{ field: 'file', message: 'required' }]);
    }
    return {
      data: Buffer.from(await file.arrayBuffer()),
      mimeType: file.type || 'application/octet-stream',
      fileName: file.name || null,
    };
  }
  const { filename } = input.query as { filename?: string };
  return {
    data: input.rawBody,
    mimeType: contentType,
    fileName: filename ?? null,
  };
}

function channelIdOf(input: { params: Record<string, string> }): string {
  return input.params.channelId as string;
}
