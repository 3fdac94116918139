import { ConflictError, NotFoundError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { parsePhoneNumber } from '../domain/phone-number.ts';
import type { ContactCheckRepository, ContactCheckResult } from '../ports.ts';
import { type ChannelCommandDependencies, getChannel } from './channels.ts';
import { issueCommand } from './issue-command.ts';

export interface ContactCheckDependencies extends ChannelCommandDependencies {
  readonly contactChecks: ContactCheckRepository;
  /** How long a request waits for the runner's answer before it hands out the check's id. */
  readonly waitMs?: number;
  readonly pollMs?: number;
}

export type ContactCheckAnswer =
  | { readonly id: string; readonly status: 'done'; readonly results: ContactCheckResult[] }
  | { readonly id: string; readonly status: 'pending' };

/** Most answers come within a second; a request holds a Lambda while it waits, so not for long. */
const DEFAULT_WAIT_MS = 3_000;

/**
 * Asks WhatsApp, through the channel's runner, which numbers have an account. The answer usually
 * comes within a second; a slower one is fetched later with `getContactCheck` and the check's id.
 */
export async function checkContacts(
  deps: ContactCheckDependencies,
  tenantId: string,
  channelId: string,
  phoneNumbers: readonly string[],
): Promise<ContactCheckAnswer> {
  for (const [index, phoneNumber] of phoneNumbers.entries()) {
    parsePhoneNumber(phoneNumber, `phoneNumbers.${index}`);
  }
  const channel = await getChannel(deps, tenantId, channelId);
  if (channel.status !== 'open' && channel.status !== 'reconnecting') {
    throw new ConflictError(
      'channel_not_connected',
      `Channel ${channelId} is ${channel.status}: connect it first`,
    );
  }
  const checkId = newId('command');
  await deps.contactChecks.start(tenantId, checkId, channelId);
  await issueCommand(deps, channel, {
    type: 'check_numbers',
    commandId: checkId,
    phoneNumbers: [...new Set(phoneNumbers)],
  });
  const deadline = Date.now() + (deps.waitMs ?? DEFAULT_WAIT_MS);
  for (;;) {
    const check = checkOf(checkId, await deps.contactChecks.get(tenantId, checkId));
    if (check.status === 'done' || Date.now() >= deadline) return check;
    await new Promise((resolve) => setTimeout(resolve, deps.pollMs ?? 250));
  }
}

export async function getContactCheck(
  deps: Pick<ContactCheckDependencies, 'channels' | 'contactChecks'>,
  tenantId: string,
  channelId: string,
  checkId: string,
): Promise<ContactCheckAnswer> {
  await getChannel(deps, tenantId, channelId);
  const check = await deps.contactChecks.find(tenantId, checkId);
  if (!check || check.channelId !== channelId) throw new NotFoundError('contact_check', checkId);
  return checkOf(checkId, check.results);
}

function checkOf(id: string, results: ContactCheckResult[] | null): ContactCheckAnswer {
  return results ? { id, status: 'done', results } : { id, status: 'pending' };
}
