// Lambda entry of the webhook dispatcher: `fanOutHandler` (the webhook event queues) and
// `deliveryHandler` (the ordered and the standard delivery queues), built at the first invocation
// from the environment (functions/consumers/webhook-dispatcher.ts has the handlers themselves).
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logger, metrics } from '#shared/observability.ts';
import { createPlatform } from '#shared/platform.ts';
import { tracer } from '#shared/tracing.ts';
import { createDispatcherHandlers, dispatcherOf, type SqsBatchHandler } from './webhook-dispatcher.ts';

let handlers: ReturnType<typeof createDispatcherHandlers> | undefined;

/** Built at the first invocation from the environment: the platform, the queues, the sender. */
function coldStart(): ReturnType<typeof createDispatcherHandlers> {
  if (!handlers) {
    const platform = createPlatform({ source: 'webhooks' });
    handlers = createDispatcherHandlers(dispatcherOf(platform), {
      visibility: platform.webhookEventVisibility,
    });
  }
  return handlers;
}

function lambda(pick: (built: ReturnType<typeof createDispatcherHandlers>) => SqsBatchHandler) {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler((event, context) => pick(coldStart())(event, context));
}

export const fanOutHandler = lambda((built) => built.fanOut);
export const deliveryHandler = lambda((built) => built.deliveries);
