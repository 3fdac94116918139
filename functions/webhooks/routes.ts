import { TenantNotActiveError, UnauthenticatedError } from '#shared/domain/errors.ts';
import type { PageRequest } from '#shared/domain/pagination.ts';
import type { DeliveryFilter } from '#shared/ports.ts';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  type NewWebhook,
  recoverDeliveries,
  redeliver,
  rotateWebhookSecret,
  testWebhook,
  updateWebhook,
  type WebhookDependencies,
  type WebhookPatch,
} from '#shared/use-cases/webhooks.ts';
import { type RouteImplementation, tenantOf } from '../http/api-router.ts';
import { deliveryView, pageView, webhookView } from '../http/presenters.ts';

/** A tenant's webhooks: manage them, test them, see and retry their deliveries. */
export function webhookRoutes(deps: WebhookDependencies): Record<string, RouteImplementation> {
  return {
    createWebhook: async (input) => {
      try {
        const { webhook, secret } = await createWebhook(deps, tenantOf(input), input.body as NewWebhook);
        return { status: 201, body: { ...webhookView(webhook), secret } };
      } catch (error) {
        // The caller's own tenant, erased since the authorizer's cached answer: its key is no longer good.
        if (error instanceof TenantNotActiveError) throw new UnauthenticatedError();
        throw error;
      }
    },
    listWebhooks: async (input) => ({
      status: 200,
      body: pageView(await listWebhooks(deps, tenantOf(input), input.query as PageRequest), webhookView),
    }),
    getWebhook: async (input) => ({
      status: 200,
      body: webhookView(await getWebhook(deps, tenantOf(input), webhookIdOf(input))),
    }),
    updateWebhook: async (input) => ({
      status: 200,
      body: webhookView(
        await updateWebhook(deps, tenantOf(input), webhookIdOf(input), input.body as WebhookPatch),
      ),
    }),
    deleteWebhook: async (input) => {
      await deleteWebhook(deps, tenantOf(input), webhookIdOf(input));
      return { status: 200, body: { id: webhookIdOf(input), status: 'deleted' } };
    },
    rotateWebhookSecret: async (input) => {
      const { webhook, secret, previousSecretExpiresAt } = await rotateWebhookSecret(
        deps,
        tenantOf(input),
        webhookIdOf(input),
        input.body as { overlapSeconds?: number },
      );
      return { status: 200, body: { id: webhook.id, secret, previousSecretExpiresAt } };
    },
    testWebhook: async (input) => {
      const delivery = await testWebhook(deps, tenantOf(input), webhookIdOf(input));
      return { status: 202, body: { id: delivery.id, status: 'pending', eventId: delivery.event.id } };
    },
    listDeliveries: async (input) => ({
      status: 200,
      body: pageView(
        await listDeliveries(
          deps,
          tenantOf(input),
          webhookIdOf(input),
          input.query as PageRequest & DeliveryFilter,
        ),
        deliveryView,
      ),
    }),
    redeliver: async (input) => {
      const delivery = await redeliver(
        deps,
        tenantOf(input),
        webhookIdOf(input),
        input.params.deliveryId as string,
      );
      return { status: 202, body: { id: delivery.id, status: 'pending', eventId: delivery.event.id } };
    },
    recoverDeliveries: async (input) => ({
      status: 202,
      body: await recoverDeliveries(
        deps,
        tenantOf(input),
        webhookIdOf(input),
        input.body as { since: string },
      ),
    }),
  };
}

function webhookIdOf(input: { params: Record<string, string> }): string {
  return input.params.webhookId as string;
}
