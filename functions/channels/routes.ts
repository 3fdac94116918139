import QRCode from 'qrcode';
import { currentPairing } from '#shared/domain/channel.ts';
import { ConflictError, TenantNotActiveError, UnauthenticatedError } from '#shared/domain/errors.ts';
import type { PageRequest } from '#shared/domain/pagination.ts';
import {
  type ChannelCommandDependencies,
  type ConnectRequest,
  connectChannel,
  createChannel,
  deleteChannel,
  getChannel,
  listChannels,
  logoutChannel,
  restartChannel,
} from '#shared/use-cases/channels.ts';
import { type RouteImplementation, tenantOf } from '../http/api-router.ts';
import { channelView, pageView } from '../http/presenters.ts';

/** A tenant's channels: create, pair, log out, restart, delete. */
export function channelRoutes(
  deps: ChannelCommandDependencies & { readonly now?: () => Date },
): Record<string, RouteImplementation> {
  const now = () => deps.now?.() ?? new Date();
  return {
    createChannel: async (input) => {
      try {
        const channel = await createChannel(deps, tenantOf(input), input.body as { name: string });
        return { status: 201, body: channelView(channel, now()) };
      } catch (error) {
        // The caller's own tenant, erased since the authorizer's cached answer: its key is no longer good.
        if (error instanceof TenantNotActiveError) throw new UnauthenticatedError();
        throw error;
      }
    },
    listChannels: async (input) => ({
      status: 200,
      body: pageView(await listChannels(deps, tenantOf(input), input.query as PageRequest), (channel) =>
        channelView(channel, now()),
      ),
    }),
    getChannel: async (input) => ({
      status: 200,
      body: channelView(await getChannel(deps, tenantOf(input), channelIdOf(input)), now()),
    }),
    deleteChannel: async (input) => {
      await deleteChannel(deps, tenantOf(input), channelIdOf(input));
      return { status: 202, body: { id: channelIdOf(input), status: 'deleting' } };
    },
    connectChannel: async (input) => {
      const request = input.body as ConnectRequest;
      const channel = await connectChannel(deps, tenantOf(input), channelIdOf(input), request);
      return { status: 202, body: channelView(channel, now()) };
    },
    logoutChannel: async (input) => ({
      status: 202,
      body: channelView(await logoutChannel(deps, tenantOf(input), channelIdOf(input)), now()),
    }),
    restartChannel: async (input) => ({
      status: 202,
      body: channelView(await restartChannel(deps, tenantOf(input), channelIdOf(input)), now()),
    }),
    getChannelQr: async (input) => {
      const channel = await getChannel(deps, tenantOf(input), channelIdOf(input));
      const pairing = currentPairing(channel, now());
      if (pairing?.method !== 'qr') {
        throw new ConflictError(
          'channel_not_waiting_for_scan',
          `Channel ${channel.id} is ${channel.status}: there is no QR to scan now`,
        );
      }
      const headers = { 'x-qr-expires-at': pairing.expiresAt };
      switch ((input.query as { format?: string }).format) {
        case 'png':
          return {
            status: 200,
            raw: await QRCode.toBuffer(pairing.qr, { type: 'png', margin: 2, scale: 6 }),
            contentType: 'image/png',
            headers,
          };
        case 'svg':
          return {
            status: 200,
            raw: await QRCode.toString(pairing.qr, { type: 'svg', margin: 2 }),
            contentType: 'image/svg+xml',
            headers,
          };
        default:
          return { status: 200, body: { qr: pairing.qr, expiresAt: pairing.expiresAt }, headers };
      }
    },
  };
}

function channelIdOf(input: { params: Record<string, string> }): string {
  return input.params.channelId as string;
}
