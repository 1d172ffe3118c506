/**
 * The identity verification secret on the workspaces log (docs/design-workspaces.md): ingest
 * computes HMACs with it, so it cannot be stored as a hash like the keys. It is sealed with
 * AES-256-GCM under the deployment's key (ANONMERGE_WORKSPACES_SECRET_KEY: 64 hex digits), so
 * that reading the topic does not give it away; GCM's tag makes a record altered in the topic,
 * or sealed under another key, fail to open instead of yielding a wrong secret. The workspace id
 * is bound in as associated data: a sealed secret copied onto another workspace does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SealedSecret } from '../generated/workspaceTypes';

const KEY_BYTES = 32;

export class SecretKeyError extends Error {
  override name = 'SecretKeyError';
}

/** The deployment's key from its hex text; throws naming the problem, never the value. */
export function parseSecretKey(hex: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new SecretKeyError(`the workspaces secret key must be ${KEY_BYTES * 2} hex digits (openssl rand -hex ${KEY_BYTES})`);
  return Buffer.from(hex, 'hex');
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function seal(secret: string, key: Buffer, workspaceId: string): SealedSecret {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(workspaceId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

/** The secret, or null when it does not open under this key for this workspace (another key, another workspace, or altered). */
export function unseal(sealed: SealedSecret, key: Buffer, workspaceId: string): string | null {
  // A short tag would be accepted by Node and weaken the check: only the full length is.
  if (sealed.iv.length !== IV_BYTES || sealed.tag.length !== TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(workspaceId, 'utf8'));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
