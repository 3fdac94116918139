// The public API's Lambda functions: one per route family (functions/<family>/handler.ts, each
// bundled with its own routes only) and the REQUEST authorizer. Access is given by the stack through
// the stateful constructs' `bind…` methods; nothing here grants anything.
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { FUNCTION_FAMILIES, type FunctionFamily } from '#functions/http/routes.ts';
import { PlatformFunction } from './platform-function.construct.ts';

/**
 * A request is a few DynamoDB and SQS calls (~100 ms); the slowest route, a contact check, waits up
 * to 3 s for the runner's answer. Anything still running after 10 s is stuck: ending it frees its
 * Idempotency-Key for a retry sooner. Below API Gateway's 29 s, so no work outlives the client's 504.
 */
export const API_FUNCTION_TIMEOUT = Duration.seconds(10);
/** One secret read (cached) and two item reads; API Gateway caches the answer per key. */
export const AUTHORIZER_TIMEOUT = Duration.seconds(5);
/** Lambda's CPU grows with memory: 1 GB keeps cold starts (SDK clients, zod schemas) short. */
export const API_FUNCTION_MEMORY_MB = 1024;

const DESCRIPTIONS: Readonly<Record<FunctionFamily, string>> = {
  public: 'clinic-wa API: liveness, the OpenAPI document and its documentation page',
  tenants: 'clinic-wa API: tenants and their API keys (the operator), a tenant’s own keys',
  admin: 'clinic-wa API: the operator’s read-only views (runners and shards, channels across tenants)',
  channels: 'clinic-wa API: a tenant’s channels (WhatsApp numbers)',
  messages: 'clinic-wa API: a channel’s messages and contact checks, media, the event log',
  webhooks: 'clinic-wa API: a tenant’s webhooks and their deliveries',
};

function byFamily<T>(make: (family: FunctionFamily) => T): Record<FunctionFamily, T> {
  return Object.fromEntries(FUNCTION_FAMILIES.map((family) => [family, make(family)])) as Record<
    FunctionFamily,
    T
  >;
}

const capitalized = (family: string) => `${family[0]?.toUpperCase()}${family.slice(1)}`;

export interface ApiFunctionsProps {
  /**
   * Lambda concurrency reserved for the authorizer (context `authorizerReservedConcurrency`), so
   * slow routes cannot take every execution and leave authentication none; none when undefined.
   */
  readonly authorizerReservedConcurrency?: number;
}

export class ApiFunctions extends Construct {
  readonly families: Readonly<Record<FunctionFamily, PlatformFunction>>;
  readonly authorizer: PlatformFunction;

  constructor(scope: Construct, id: string, props: ApiFunctionsProps = {}) {
    super(scope, id);
    this.families = byFamily(
      (family) =>
        new PlatformFunction(this, capitalized(family), {
          entry: `functions/${family}/handler.ts`,
          description: DESCRIPTIONS[family],
          timeout: API_FUNCTION_TIMEOUT,
          memorySize: API_FUNCTION_MEMORY_MB,
        }),
    );
    this.authorizer = new PlatformFunction(this, 'Authorizer', {
      entry: 'functions/authorizer/handler.ts',
      description: 'clinic-wa API: the REQUEST authorizer (admin key, tenant keys)',
      timeout: AUTHORIZER_TIMEOUT,
      memorySize: API_FUNCTION_MEMORY_MB,
      reservedConcurrentExecutions: props.authorizerReservedConcurrency,
    });
  }

  /** The function serving each family's routes. */
  get handlers(): Readonly<Record<FunctionFamily, IFunction>> {
    return byFamily((family) => this.families[family].function);
  }

  /** Every function, the authorizer included. */
  get all(): readonly PlatformFunction[] {
    return [...Object.values(this.families), this.authorizer];
  }
}
