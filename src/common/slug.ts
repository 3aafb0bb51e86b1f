/** Tenant slugs: lowercase letters, digits, inner hyphens; 1 to 50 characters. */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$/;
export const SLUG_MAX_LENGTH = 50;

export function isValidSlug(value: string): boolean {
  return SLUG_PATTERN.test(value);
}

/**
 * Normalizes free text (a claim value, an organization name) into a slug: lowercased, accents
 * dropped, runs of other characters turned into one hyphen, trimmed to 50. Returns undefined when
 * nothing usable is left.
 */
export function normalizeSlug(value: string): string | undefined {
  const slug = value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, SLUG_MAX_LENGTH)
    .replace(/-+$/, '');
  return isValidSlug(slug) ? slug : undefined;
}
