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
  openIssuedSecret,
  recoverDeliveries,
  redeliver,
  rotateWebhookSecret,
  testWebhook,
  updateWebhook,
  type WebhookDependencies,
  type WebhookPatch,
} from '#shared/use-cases/webhooks.ts';
import { type RouteDefinition, type RouteInput, tenantOf } from '../http/api-router.ts';
import { deliveryView, pageView, webhookView } from '../http/presenters.ts';

/** What a creation's idempotency record keeps: the answer, its secret sealed (never in clear). */
interface KeptCreation {
  readonly webhook: ReturnType<typeof webhookView>;
  readonly sealedSecret: string;
}

/** A tenant's webhooks: manage them, test them, see and retry their deliveries. */
export function webhookRoutes(deps: WebhookDependencies): Record<string, RouteDefinition> {
  // The secret a creation just issued, for its own answer: a replay has none and opens the sealed one.
  const issued = new WeakMap<RouteInput, string>();
  return {
    createWebhook: {
      run: async (input) => {
        try {
          const { webhook, secret } = await createWebhook(deps, tenantOf(input), input.body as NewWebhook);
          issued.set(input, secret);
          const kept: KeptCreation = {
            webhook: webhookView(webhook),
            sealedSecret: webhook.secrets[0]?.sealed ?? '',
          };
          return { status: 201, body: kept };
        } catch (error) {
          // The caller's own tenant, erased since the authorizer's cached answer: its key is no longer good.
          if (error instanceof TenantNotActiveError) throw new UnauthenticatedError();
          throw error;
        }
      },
      answer: async (kept, input) => {
        const { webhook, sealedSecret } = (kept as { body: KeptCreation }).body;
        const secret =
          issued.get(input) ?? (await openIssuedSecret(deps, tenantOf(input), webhook.id, sealedSecret));
        return { status: kept.status, body: { ...webhook, secret } };
      },
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
