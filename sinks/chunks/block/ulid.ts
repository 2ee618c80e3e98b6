import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID: 48 bits of unix ms then 80 random bits, in Crockford base32 (26 characters). Block
 * directories are named by one, so they sort by creation time, as Prometheus's blocks do.
 */
export function newUlid(nowMs = Date.now()): string {
  let out = '';
  let time = nowMs;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[time % 32] + out;
    time = Math.floor(time / 32);
  }
  const random = randomBytes(16);
  for (let i = 0; i < 16; i++) out += ALPHABET[random[i] % 32];
  return out;
}

export function isUlid(name: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{26}$/.test(name);
}
