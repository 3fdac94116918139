import { ValidationError } from './errors.ts';

export const TENANT_STATUSES = ['active', 'erasing'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** How long message content is kept when a clinic does not say; LGPD asks for a purpose-bound limit. */
export const DEFAULT_RETENTION_DAYS = 90;
export const MAX_RETENTION_DAYS = 3650;

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly status: TenantStatus;
  readonly retentionDays: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface NewTenant {
  readonly name: string;
  readonly retentionDays?: number;
}

export function validateNewTenant(input: NewTenant): Required<NewTenant> {
  const issues = [];
  const name = input.name.trim();
  if (name.length < 1 || name.length > 200) {
    issues.push({ field: 'name', message: 'name must have 1 to 200 characters' });
  }
  const retentionDays = input.retentionDays ?? DEFAULT_RETENTION_DAYS;
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > MAX_RETENTION_DAYS) {
    issues.push({
      field: 'retentionDays',
      message: `retentionDays must be an integer from 1 to ${MAX_RETENTION_DAYS}`,
    });
  }
  if (issues.length > 0) throw new ValidationError('The tenant is not valid', issues);
  return { name, retentionDays };
}
