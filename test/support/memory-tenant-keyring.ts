import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { TenantKeyring } from '#shared/ports.ts';

/**
 * The keyring's contract with real cryptography and a random root per tenant held in memory, for
 * unit tests of code that seals or hashes; the KMS-backed keyring is tested against the emulator.
 */
export class MemoryTenantKeyring implements TenantKeyring {
  private readonly roots = new Map<string, Buffer>();

  /** What tenant erasure does to the real keyring: the tenant's root is gone. */
  forget(tenantId: string): void {
    this.roots.delete(tenantId);
  }

  async seal(tenantId: string, plaintext: string, purpose: string): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(tenantId, 'seal'), iv);
    cipher.setAAD(Buffer.from(`${tenantId}\u0000${purpose}`));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  async open(tenantId: string, sealed: string, purpose: string): Promise<string> {
    const bytes = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv(
      'aes-256-gcm',
      this.key(tenantId, 'seal', false),
      bytes.subarray(0, 12),
    );
    decipher.setAAD(Buffer.from(`${tenantId}\u0000${purpose}`));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  }

  async contactHash(tenantId: string, phoneNumber: string): Promise<string> {
    return createHmac('sha256', this.key(tenantId, 'contact-hash')).update(phoneNumber).digest('base64url');
  }

  private key(tenantId: string, use: string, create = true): Buffer {
    let root = this.roots.get(tenantId);
    if (!root) {
      if (!create) throw new Error(`no key for tenant ${tenantId}`);
      root = randomBytes(32);
      this.roots.set(tenantId, root);
    }
    return Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), use, 32));
  }
}
