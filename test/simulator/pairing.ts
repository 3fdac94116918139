// Companions waiting to be linked, by QR ref or by pairing code, and the pair-success exchange that
// turns one into a device of an account.
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type { proto } from '@whiskeysockets/baileys';
import { type Account, type AccountRegistry, lidDeviceJid, phoneDeviceJid } from './accounts.ts';
import { childOf, node, SERVER_JID, unixSeconds } from './binary.ts';
import type { ClientConnection } from './client-connection.ts';

const QR_REF_COUNT = 6;

export interface CodePairingRequest {
  readonly phoneNumber: string;
  /** salt(32) ‖ iv(16) ‖ AES-CTR(companion ephemeral public key) under PBKDF2(code, salt). */
  readonly wrappedCompanionEphemeral: Buffer;
  readonly ref: Buffer;
  /** Resolved when the companion answers with its wrapped key bundle. */
  finish?: (bundle: { wrappedKeyBundle: Buffer; companionIdentityKey: Buffer }) => void;
}

export interface PendingCompanion {
  readonly connection: ClientConnection;
  readonly refs: string[];
  readonly noiseKey: Buffer;
  readonly identityKey: Buffer;
  readonly registrationId: number;
  readonly signedPreKey: { id: number; publicKey: Buffer; signature: Buffer };
  readonly platform: string;
  codeRequest?: CodePairingRequest;
}

/** Builds the `ADVSignedDeviceIdentityHMAC` for a new companion, as the primary phone does. */
export type SignCompanionIdentity = (keyIndex: number) => Buffer;

export class PairingDesk {
  private readonly byRef = new Map<string, PendingCompanion>();
  private readonly byConnection = new Map<number, PendingCompanion>();
  private readonly codeRequests = new Map<string, PendingCompanion>();
  private readonly codeRequested = new EventEmitter();

  constructor(private readonly accounts: AccountRegistry) {}

  /** A client without credentials connected: remember it and send it the QR refs. */
  admit(connection: ClientConnection, pairingData: proto.ClientPayload.IDevicePairingRegistrationData): void {
    const noiseKey = connection.clientStaticKey;
    const { eIdent, eRegid, eSkeyId, eSkeyVal, eSkeySig } = pairingData;
    if (!noiseKey || !eIdent || !eRegid || !eSkeyId || !eSkeyVal || !eSkeySig) {
      connection.sendFailure(400);
      return;
    }
    const refs = Array.from({ length: QR_REF_COUNT }, () => randomBytes(16).toString('base64url'));
    const pending: PendingCompanion = {
      connection,
      refs,
      noiseKey,
      identityKey: Buffer.from(eIdent),
      registrationId: Buffer.from(eRegid).readUIntBE(0, eRegid.length),
      signedPreKey: {
        id: Buffer.from(eSkeyId).readUIntBE(0, eSkeyId.length),
        publicKey: Buffer.from(eSkeyVal),
        signature: Buffer.from(eSkeySig),
      },
      platform: 'web',
    };
    for (const ref of refs) this.byRef.set(ref, pending);
    this.byConnection.set(connection.id, pending);
    connection.send(
      node('iq', { from: SERVER_JID, type: 'set', id: `pair-${connection.id}`, xmlns: 'md' }, [
        node(
          'pair-device',
          {},
          refs.map((ref) => node('ref', {}, Buffer.from(ref))),
        ),
      ]),
    );
  }

  forget(connection: ClientConnection): void {
    const pending = this.byConnection.get(connection.id);
    if (!pending) return;
    this.byConnection.delete(connection.id);
    for (const ref of pending.refs) this.byRef.delete(ref);
    if (pending.codeRequest && this.codeRequests.get(pending.codeRequest.phoneNumber) === pending) {
      this.codeRequests.delete(pending.codeRequest.phoneNumber);
    }
  }

  pendingFor(connection: ClientConnection): PendingCompanion | undefined {
    return this.byConnection.get(connection.id);
  }

  byQrRef(ref: string): PendingCompanion | undefined {
    return this.byRef.get(ref);
  }

  /** Stage `companion_hello` of pairing by code: the companion named the phone it wants to join. */
  requestCode(pending: PendingCompanion, phoneNumber: string, wrappedCompanionEphemeral: Buffer): Buffer {
    const ref = randomBytes(20);
    pending.codeRequest = { phoneNumber, wrappedCompanionEphemeral, ref };
    this.codeRequests.set(phoneNumber, pending);
    this.codeRequested.emit(phoneNumber);
    return ref;
  }

  codeRequestFor(phoneNumber: string): PendingCompanion | undefined {
    const pending = this.codeRequests.get(phoneNumber);
    return pending && !pending.connection.closed ? pending : undefined;
  }

  /** The code request for the number, waiting briefly: the code may be typed as it is being sent. */
  async awaitCodeRequest(phoneNumber: string, timeoutMs: number): Promise<PendingCompanion | undefined> {
    const current = this.codeRequestFor(phoneNumber);
    if (current) return current;
    try {
      await once(this.codeRequested, phoneNumber, { signal: AbortSignal.timeout(timeoutMs) });
    } catch {
      return undefined;
    }
    return this.codeRequestFor(phoneNumber);
  }

  /** Sends the primary's half of the code exchange and waits for the companion's key bundle. */
  async exchangeCodeKeys(
    pending: PendingCompanion,
    primaryIdentityKey: Buffer,
    wrappedPrimaryEphemeral: Buffer,
    timeoutMs = 30_000,
  ): Promise<{ wrappedKeyBundle: Buffer; companionIdentityKey: Buffer }> {
    const request = pending.codeRequest;
    if (!request) throw new Error('no pairing code was requested on this connection');
    const finished = new Promise<{ wrappedKeyBundle: Buffer; companionIdentityKey: Buffer }>(
      (resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('companion did not finish the code exchange')),
          timeoutMs,
        );
        request.finish = (bundle) => {
          clearTimeout(timer);
          resolve(bundle);
        };
      },
    );
    pending.connection.send(
      node(
        'notification',
        {
          from: SERVER_JID,
          type: 'link_code_companion_reg',
          id: `code-${pending.connection.id}`,
          t: unixSeconds(),
        },
        [
          node('link_code_companion_reg', {}, [
            node('link_code_pairing_ref', {}, request.ref),
            node('primary_identity_pub', {}, primaryIdentityKey),
            node('link_code_pairing_wrapped_primary_ephemeral_pub', {}, wrappedPrimaryEphemeral),
          ]),
        ],
      ),
    );
    return finished;
  }

  /** Stage `companion_finish`: hand the wrapped key bundle to the waiting phone. */
  acceptCodeFinish(
    pending: PendingCompanion,
    wrappedKeyBundle: Buffer,
    companionIdentityKey: Buffer,
  ): boolean {
    const finish = pending.codeRequest?.finish;
    if (!finish) return false;
    finish({ wrappedKeyBundle, companionIdentityKey });
    return true;
  }

  /**
   * Makes the companion a device of `account`: pair-success with the phone-signed identity, the
   * companion's signature in return, then stream error 515 so it reconnects and logs in.
   */
  async link(pending: PendingCompanion, account: Account, sign: SignCompanionIdentity): Promise<number> {
    const device = this.accounts.addCompanionDevice(account, {
      noiseKey: pending.noiseKey,
      identityKey: pending.identityKey,
      registrationId: pending.registrationId,
      signedPreKey: pending.signedPreKey,
      platform: pending.platform,
    });
    this.forget(pending.connection);
    try {
      const response = await pending.connection.query(
        node('iq', { from: SERVER_JID, type: 'set', xmlns: 'md', t: unixSeconds() }, [
          node('pair-success', {}, [
            node('device-identity', {}, sign(device.keyIndex)),
            node('platform', { name: 'smba' }),
            node('device', {
              jid: phoneDeviceJid(account, device.id),
              lid: lidDeviceJid(account, device.id),
            }),
          ]),
        ]),
      );
      if (!childOf(response, 'pair-device-sign')) throw new Error('companion rejected the pairing');
    } catch (error) {
      this.accounts.removeDevice(account, device.id);
      throw error;
    }
    pending.connection.sendStreamError(515);
    return device.id;
  }
}
