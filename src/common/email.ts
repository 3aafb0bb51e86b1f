/** E-mail addresses as admission compares them: exactly, but for the case of ASCII letters. */

export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;
export const EMAIL_MAX_LENGTH = 320;

/** A domain name of LDH labels (IDNs in their xn-- form), at least two labels, lowercase. */
export const DOMAIN_PATTERN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/**
 * Lowercases A–Z only. No Unicode case mapping or normalization: `ÁCME` stays distinct from
 * `acme`, and a full-width or accented look-alike never equals the ASCII address.
 */
export function asciiLower(value: string): string {
  return value.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** The address as invitations store and compare it. */
export function canonicalEmail(email: string): string {
  return asciiLower(email.trim());
}

/** The full domain of an address (after the last `@`), as tenant domains compare it. */
export function emailDomain(email: string): string {
  const canonical = canonicalEmail(email);
  return canonical.slice(canonical.lastIndexOf('@') + 1);
}

/**
 * Domains of mail providers open to anyone: a tenant admin cannot claim them for a tenant (anyone
 * could then join it, and nobody else could hold the domain). The platform admin still can.
 */
export const PUBLIC_MAIL_DOMAINS: ReadonlySet<string> = new Set([
  '126.com',
  '163.com',
  'aol.com',
  'fastmail.com',
  'gmail.com',
  'gmx.com',
  'gmx.de',
  'gmx.net',
  'googlemail.com',
  'hey.com',
  'hotmail.co.uk',
  'hotmail.com',
  'hotmail.fr',
  'icloud.com',
  'live.com',
  'mail.com',
  'mail.ru',
  'me.com',
  'mac.com',
  'msn.com',
  'naver.com',
  'outlook.com',
  'pm.me',
  'proton.me',
  'protonmail.com',
  'qq.com',
  'tutanota.com',
  'web.de',
  'yahoo.co.uk',
  'yahoo.com',
  'yahoo.fr',
  'yandex.com',
  'yandex.ru',
  'ymail.com',
  'zoho.com',
]);
