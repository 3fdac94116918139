// Lambda: the routes that need no key (liveness, the OpenAPI document, its documentation page).
import { createApiRouter } from '../http/api-router.ts';
import { apiLambda } from '../http/lambda.ts';
import { publicRoutes } from './routes.ts';

export const handler = apiLambda(createApiRouter('public', publicRoutes()));
