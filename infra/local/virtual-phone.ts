// The virtual phone `npm start` hands a newcomer: a number in the WhatsApp simulator, connected and
// ready to scan a channel's QR or enter its pairing code, made through the simulator's admin API
// (test/simulator/README.md). The number is fixed, so the next start finds it again when the
// simulator kept its state (its snapshot) and makes it again when it did not.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { callJson } from './http-json.ts';

/** Brazil, São Paulo's area code, the 9xxxx-xxxx mobile range: the demo clinic's patient. */
export const DEMO_PHONE_NUMBER = '5511977770001';

const phoneSchema = z.object({
  phoneNumber: z.string(),
  jid: z.string(),
  connected: z.boolean(),
  linkedDevices: z.array(z.number()),
});

export interface VirtualPhone {
  readonly phoneNumber: string;
  readonly jid: string;
  /** Companions (channels) already linked to it, by device id. */
  readonly linkedDevices: readonly number[];
}

/** How long a phone restored from the snapshot may take to log its own client in. */
const CONNECT_TIMEOUT_MS = 15_000;

export async function ensureVirtualPhone(options: {
  readonly adminUrl: string;
  readonly phoneNumber?: string;
}): Promise<{ readonly phone: VirtualPhone; readonly reused: boolean }> {
  const phoneNumber = options.phoneNumber ?? DEMO_PHONE_NUMBER;
  // POST /phones answers 200 for a number it has, 201 for one it made: the reuse is its answer.
  const created = await callJson(
    { method: 'POST', url: `${options.adminUrl}/phones`, body: { phoneNumber } },
    phoneSchema,
  );
  const reused = created.status === 200;
  let phone = created.body;
  const deadline = Date.now() + CONNECT_TIMEOUT_MS;
  while (!phone.connected) {
    if (Date.now() > deadline) {
      throw new Error(`virtual phone ${phoneNumber} did not connect to the simulator within 15 s`);
    }
    await sleep(200);
    phone = await readPhone(options.adminUrl, phoneNumber);
  }
  return {
    phone: { phoneNumber: phone.phoneNumber, jid: phone.jid, linkedDevices: phone.linkedDevices },
    reused,
  };
}

async function readPhone(adminUrl: string, phoneNumber: string) {
  return (await callJson({ method: 'GET', url: `${adminUrl}/phones/${phoneNumber}` }, phoneSchema)).body;
}
