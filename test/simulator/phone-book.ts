// The virtual phones of one simulator, by number, and the work they do unprompted: a phone sends
// the history-sync notification to each companion that finished its first key upload.
import type { Agent } from 'node:https';
import type { SimulatorServer } from './server.ts';
import { type PhoneOptions, type PhoneSnapshot, VirtualPhone } from './virtual-phone.ts';

export class PhoneBook {
  private readonly phones = new Map<string, VirtualPhone>();
  private readonly creating = new Map<string, Promise<VirtualPhone>>();

  constructor(
    private readonly server: SimulatorServer,
    private readonly wsUrl: () => string,
    private readonly mediaAgent: Agent,
  ) {
    server.accounts.on('keys-uploaded', ({ account, deviceId }, firstUpload) => {
      const phone = this.phones.get(account.phoneNumber);
      if (firstUpload && deviceId !== 0 && phone) {
        phone.sendHistorySync().catch(() => undefined);
      }
    });
  }

  /** Creates the number (or returns the existing phone). */
  async create(phoneNumber: string, options: PhoneOptions = {}): Promise<VirtualPhone> {
    const existing = this.phones.get(phoneNumber) ?? (await this.creating.get(phoneNumber));
    if (existing) return existing;
    const creating = VirtualPhone.create(
      this.server,
      { wsUrl: this.wsUrl(), mediaAgent: this.mediaAgent },
      phoneNumber,
      options,
    );
    this.creating.set(phoneNumber, creating);
    try {
      const phone = await creating;
      this.phones.set(phoneNumber, phone);
      return phone;
    } finally {
      this.creating.delete(phoneNumber);
    }
  }

  async restore(saved: PhoneSnapshot): Promise<VirtualPhone> {
    const account = this.server.accounts.get(saved.phoneNumber);
    if (!account) throw new Error(`snapshot has phone ${saved.phoneNumber} without its account`);
    const phone = await VirtualPhone.restore(
      this.server,
      { wsUrl: this.wsUrl(), mediaAgent: this.mediaAgent },
      account,
      saved,
    );
    this.phones.set(saved.phoneNumber, phone);
    return phone;
  }

  get(phoneNumber: string): VirtualPhone | undefined {
    return this.phones.get(phoneNumber);
  }

  list(): VirtualPhone[] {
    return [...this.phones.values()];
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.list().map((phone) => phone.stop()));
  }
}
