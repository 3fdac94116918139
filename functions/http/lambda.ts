import type { Router } from '@aws-lambda-powertools/event-handler/http';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { logger, metrics } from '#shared/observability.ts';
import { tracer } from '#shared/tracing.ts';
import type { Guards } from './guards.ts';

export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * A family's router as a Lambda handler for API Gateway (REST API, proxy integration): middy runs
 * Powertools' tracer, logger (with the invocation's context) and metrics around it.
 */
export function apiLambda(router: Router, guards?: Guards): ApiHandler {
  return (
    middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
      // Responses are tenant data (messages, QR codes, new keys): never copied into traces.
      .use(captureLambdaHandler(tracer, { captureResponse: false }))
      .use(injectLambdaContext(logger, { resetKeys: true }))
      .use(logMetrics(metrics))
      .handler(async (event, context) => {
        guards?.registerContext(context);
        return router.resolve(withoutBodyOnGet(event), context);
      })
  );
}

/**
 * API Gateway passes on a body sent with a GET, but a web Request cannot carry one: Powertools'
 * router throws before any route or error handler runs and the client gets a 502
 * (aws-powertools/powertools-lambda-typescript#5673). No GET of this API reads a body.
 */
function withoutBodyOnGet(event: APIGatewayProxyEvent): APIGatewayProxyEvent {
  const bodiless = event.httpMethod === 'GET' || event.httpMethod === 'HEAD';
  return bodiless && event.body !== null ? { ...event, body: null, isBase64Encoded: false } : event;
}
