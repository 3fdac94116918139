// Names for resources whose template leaves the name to CloudFormation. CloudFormation adds a random
// suffix; we derive one from the logical id instead, so a re-run against a persistent emulator
// (LocalStack) finds the same resources again.
import { createHash } from 'node:crypto';

export interface NameRules {
  readonly maxLength: number;
  /** Characters outside this class are replaced by '-'. */
  readonly allowed: RegExp;
  readonly lowercase?: boolean;
  /** Appended after truncation (`.fifo`). */
  readonly suffix?: string;
}

export function physicalName(stackName: string, logicalId: string, rules: NameRules): string {
  const suffix = rules.suffix ?? '';
  const raw = `${stackName}-${logicalId}`;
  let base = (rules.lowercase ? raw.toLowerCase() : raw).replace(
    new RegExp(`[^${rules.allowed.source}]`, 'g'),
    '-',
  );
  const room = rules.maxLength - suffix.length;
  if (base.length > room) {
    const hash = createHash('sha256').update(`${stackName}/${logicalId}`).digest('hex').slice(0, 8);
    base = `${base.slice(0, room - hash.length - 1).replace(/-+$/, '')}-${hash}`;
  }
  return `${base}${suffix}`;
}

export const NAME_RULES = {
  table: { maxLength: 255, allowed: /a-zA-Z0-9_.-/ },
  queue: { maxLength: 80, allowed: /a-zA-Z0-9_-/ },
  eventBus: { maxLength: 256, allowed: /a-zA-Z0-9._-/ },
  rule: { maxLength: 64, allowed: /a-zA-Z0-9._-/ },
  bucket: { maxLength: 63, allowed: /a-z0-9-/, lowercase: true },
} as const satisfies Record<string, NameRules>;
