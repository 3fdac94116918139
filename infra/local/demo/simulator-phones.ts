// The patient's and the clinic's phones, played through the WhatsApp simulator's admin API
// (test/simulator/README.md): the one surface besides the public API the demo may touch.
import { z } from 'zod';
import type { HttpCaller } from './http-calls.ts';

const phoneSchema = z.object({
  phoneNumber: z.string(),
  jid: z.string(),
  lid: z.string(),
  connected: z.boolean(),
  linkedDevices: z.array(z.number()),
});

const linkedSchema = z.object({ deviceId: z.number(), jid: z.string(), lid: z.string() });

const receivedSchema = z.object({
  id: z.string(),
  from: z.string(),
  type: z.string(),
  text: z.string().optional(),
});

const messagesSchema = z.object({
  received: z.array(receivedSchema),
  sent: z.array(z.object({ id: z.string(), to: z.string(), status: z.string() })),
});

const sentSchema = z.object({ id: z.string(), to: z.string(), status: z.string() });

export type ReceivedOnPhone = z.infer<typeof receivedSchema>;

export class SimulatorPhones {
  constructor(private readonly sim: HttpCaller) {}

  /** Registers the number and connects its phone (200 when it existed: the state survives restarts). */
  ensurePhone(phoneNumber: string) {
    return this.sim.call('POST', '/phones', {
      body: { phoneNumber },
      expect: [200, 201],
      schema: phoneSchema,
      show: (phone) => `${phone.jid}, linked devices [${phone.linkedDevices.join(', ')}]`,
    });
  }

  /** The phone scans the QR a companion shows, linking it; the device id of the new companion. */
  scanQr(phoneNumber: string, qr: string) {
    return this.sim.call('POST', `/phones/${phoneNumber}/scan`, {
      body: { qr },
      expect: 200,
      schema: linkedSchema,
      show: (linked) => `linked as device ${linked.deviceId} (${linked.jid})`,
    });
  }

  /** Waits until the phone has decrypted a text with exactly this body; the message as received. */
  async waitForText(phoneNumber: string, text: string, timeoutMs: number): Promise<ReceivedOnPhone> {
    const find = (answer: z.infer<typeof messagesSchema>) =>
      answer.received.find((message) => message.text === text);
    const answer = await this.sim.poll('GET', `/phones/${phoneNumber}/messages`, {
      expect: 200,
      schema: messagesSchema,
      until: (page) => find(page) !== undefined,
      show: (page) => {
        const message = find(page);
        return `received ${message?.id} from ${message?.from}: "${message?.text}"`;
      },
      timeoutMs,
      what: `the text on the phone ${phoneNumber}`,
    });
    return find(answer) as ReceivedOnPhone;
  }

  /** The phone opens the chat: a read receipt goes to the sender's devices. */
  async markRead(phoneNumber: string, messageId: string): Promise<void> {
    await this.sim.call('POST', `/phones/${phoneNumber}/read`, {
      body: { messageId },
      expect: 204,
      schema: z.unknown(),
      show: () => 'read receipt sent',
    });
  }

  sendText(phoneNumber: string, to: string, text: string) {
    return this.sim.call('POST', `/phones/${phoneNumber}/messages`, {
      body: { to, text },
      expect: 201,
      schema: sentSchema,
      show: (sent) => `${sent.id} to ${sent.to}: "${text}"`,
    });
  }
}
