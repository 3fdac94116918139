import type { EmulatorClients } from '../aws-clients.ts';
import type { ResolvedResource } from './template-values.ts';

export interface ProvisioningContext {
  readonly clients: EmulatorClients;
  readonly region: string;
  readonly accountId: string;
  readonly stackName: string;
}

export interface ResourceRequest {
  readonly logicalId: string;
  /** The template's properties with every intrinsic function resolved. */
  readonly properties: Readonly<Record<string, unknown>>;
  readonly context: ProvisioningContext;
}

export interface ProvisionedResource extends ResolvedResource {
  /** The name or id a developer looks for in the emulator. */
  readonly physicalId: string;
}

/** Creates one CloudFormation resource type in the emulator through the SDK. */
export interface ResourceHandler {
  /**
   * Every property the handler knows: applied, or deliberately not emulated. A template property
   * outside this list fails provisioning, so a new setting in the stack cannot be silently dropped.
   */
  readonly properties: readonly string[];
  create(request: ResourceRequest): Promise<ProvisionedResource>;
}

export function optionalString(
  properties: Readonly<Record<string, unknown>>,
  name: string,
): string | undefined {
  const value = properties[name];
  return value === undefined ? undefined : String(value);
}

/** True when the error is one of the named AWS exceptions (by `name`, as the SDK reports them). */
export function isAwsError(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}
