import { Curve, WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installNativeCurve, nativeCurveStatus } from '#runner/crypto/install-native-curve.ts';
import {
  eventually,
  type ServerIdentity,
  type Simulator,
  startSimulator,
  TestCompanion,
} from '#test/simulator';

// Unmodified Baileys clients over real sockets against the simulator, with the runner's native curve
// installed in this process: logins work, and a server whose chain is not vouched for is refused.
describe('native curve under Baileys against the simulator', () => {
  let simulator: Simulator;
  const companions: TestCompanion[] = [];
  const others: Simulator[] = [];

  beforeAll(() => {
    installNativeCurve();
  });
  beforeEach(async () => {
    simulator = await startSimulator();
    // Virtual phones are Baileys clients too: with a verification that works they need the pin first.
    WA_CERT_DETAILS.PUBLIC_KEY = simulator.rootPublicKey;
  });
  afterEach(async () => {
    for (const companion of companions.splice(0)) companion.stop();
    for (const other of others.splice(0)) await other.stop();
    await simulator.stop();
  });

  /** A companion dialling `server` while trusting the root of `trusted`; it reconnects after a 515. */
  function companion(server: Simulator, trusted: Simulator, auth?: TestCompanion['auth'], reconnect = true) {
    const created = new TestCompanion({ ...server, rootPublicKey: trusted.rootPublicKey }, auth, reconnect);
    companions.push(created);
    return created;
  }

  /** The client's one connection was closed with a 400 before any QR, for `reason`. */
  async function expectRefused(client: TestCompanion, refusedBefore: number, reason: string) {
    await eventually(() => client.log.closes.length > 0, 'the connection to close');
    expect(client.log.closes).toEqual([400]);
    expect(client.log.qrs).toEqual([]);
    expect(client.log.opens).toBe(0);
    expect(nativeCurveStatus()).toMatchObject({ chainsRefused: refusedBefore + 1, lastRefusal: reason });
  }

  it('pairs by QR and logs a returning device in, the chain checked at each handshake', async () => {
    const before = nativeCurveStatus();
    const phone = await simulator.phones.create('5511933330001');
    const first = companion(simulator, simulator);
    await phone.scanQr(await eventually(() => first.log.qrs[0], 'a QR code'));
    await eventually(() => first.log.opens > 0, 'first open');
    first.stop();

    const returning = companion(simulator, simulator, first.auth);
    await eventually(() => returning.log.opens > 0, 'returning open');

    expect(returning.log.qrs).toEqual([]);
    expect(simulator.server.isConnected({ account: phone.account, deviceId: 1 })).toBe(true);
    const after = nativeCurveStatus();
    // Pairing connection, its restart after 515, the returning login, plus the phone's own.
    expect(after.chainsAccepted - before.chainsAccepted).toBeGreaterThanOrEqual(3);
    expect(after.chainsRefused).toBe(before.chainsRefused);
  });

  it('refuses a server whose chain is signed by another root: no QR, no open, a 400 close', async () => {
    const stranger = await startSimulator({ rootKeyPair: Curve.generateKeyPair() });
    others.push(stranger);
    WA_CERT_DETAILS.PUBLIC_KEY = simulator.rootPublicKey;
    const before = nativeCurveStatus().chainsRefused;

    await expectRefused(companion(stranger, simulator, undefined, false), before, 'intermediate-signature');
  });

  it('makes Baileys’ own chain check work: a foreign root is refused even with our check only observing', async () => {
    const stranger = await startSimulator({ rootKeyPair: Curve.generateKeyPair() });
    others.push(stranger);
    installNativeCurve({ certificateChain: 'observe' });
    try {
      const client = companion(stranger, simulator, undefined, false);
      const errors: string[] = [];
      client.socket.ev.on('connection.update', ({ lastDisconnect }) => {
        if (lastDisconnect?.error) errors.push(lastDisconnect.error.message);
      });
      await eventually(() => client.log.closes.length > 0, 'the connection to close');

      expect(errors).toEqual(['noise intermediate certificate signature invalid']);
      // Thrown by Baileys' noise handler ('noise intermediate certificate signature invalid'), whose
      // Curve.verify is now the native one: rc14's would have let this server through.
      expect(client.log.closes).toEqual([400]);
      expect(client.log.qrs).toEqual([]);
    } finally {
      installNativeCurve({ certificateChain: 'enforce' });
    }
  });

  it('refuses a server replaying a genuine chain for another static key, which Baileys alone accepts', async () => {
    // Same root (simulators of one process share it), its own static key, the first one's chain.
    const impostor = await startSimulator();
    others.push(impostor);
    const server = impostor.server as unknown as { identity: ServerIdentity };
    server.identity = { ...server.identity, certChain: simulator.server.identity.certChain };

    // Control: with the chain only observed, Baileys' own checks pass (signatures and root are
    // genuine) and the impostor gets as far as offering a QR code.
    installNativeCurve({ certificateChain: 'observe' });
    try {
      const fooled = companion(impostor, simulator, undefined, false);
      await eventually(() => fooled.log.qrs[0], 'a QR code from the impostor');
    } finally {
      installNativeCurve({ certificateChain: 'enforce' });
    }
    expect(nativeCurveStatus().lastRefusal).toBe('leaf-key-mismatch');
    const before = nativeCurveStatus().chainsRefused;

    await expectRefused(companion(impostor, simulator, undefined, false), before, 'leaf-key-mismatch');
  });
});
