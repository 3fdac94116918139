import type { OutboundMessage } from '#shared/domain/outbound-message.ts';
import type { PageRequest } from '#shared/domain/pagination.ts';
import type { MessageFilter } from '#shared/ports.ts';
import { type ContactCheckDependencies, checkContacts, getContactCheck } from '#shared/use-cases/contacts.ts';
import {
  getMessage,
  listMessages,
  type MessageDependencies,
  markMessageRead,
  sendMessage,
} from '#shared/use-cases/messages.ts';
import { type RouteImplementation, tenantOf } from '../http/api-router.ts';
import { messageView, pageView } from '../http/presenters.ts';

/** A channel's messages: send, list, read one, mark read; and contact checks. */
export function messageRoutes(
  deps: MessageDependencies & ContactCheckDependencies,
): Record<string, RouteImplementation> {
  return {
    sendMessage: async (input) => {
      const message = await sendMessage(
        deps,
        tenantOf(input),
        channelIdOf(input),
        input.body as OutboundMessage,
      );
      return { status: 202, body: { id: message.id, status: 'queued' } };
    },
    listMessages: async (input) => ({
      status: 200,
      body: pageView(
        await listMessages(
          deps,
          tenantOf(input),
          channelIdOf(input),
          input.query as PageRequest & MessageFilter,
        ),
        messageView,
      ),
    }),
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
    getContactCheck: async (input) => ({
      status: 200,
      body: await getContactCheck(deps, tenantOf(input), channelIdOf(input), input.params.checkId as string),
    }),
  };
}

function channelIdOf(input: { params: Record<string, string> }): string {
  return input.params.channelId as string;
}
