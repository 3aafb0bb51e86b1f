import { isValidSlug, normalizeSlug, SLUG_MAX_LENGTH } from './slug';

describe('isValidSlug', () => {
  it.each([
    'a',
    '7',
    'acme',
    'acme-corp',
    'a-b-c',
    'team-42',
    '42',
    'a--b',
    'a'.repeat(50),
    `a${'-'.repeat(48)}b`,
  ])('accepts %p', (slug) => {
    expect(isValidSlug(slug)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['51 characters', 'a'.repeat(51)],
    ['a leading hyphen', '-acme'],
    ['a trailing hyphen', 'acme-'],
    ['only a hyphen', '-'],
    ['capitals', 'Acme'],
    ['an underscore', 'bad_slug'],
    ['a space', 'acme corp'],
    ['a dot', 'acme.com'],
    ['an accent', 'café'],
    ['a slash', 'acme/x'],
    ['a trailing newline', 'acme\n'],
  ])('refuses %s', (_, slug) => {
    expect(isValidSlug(slug)).toBe(false);
  });

  it('puts the limit at 50 characters', () => {
    expect(SLUG_MAX_LENGTH).toBe(50);
  });
});

describe('normalizeSlug', () => {
  it.each([
    ['Acme Corp!', 'acme-corp'],
    ['  ACME  ', 'acme'],
    ['Café Crème', 'cafe-creme'],
    ['Zürich Ångström', 'zurich-angstrom'],
    ['acme_corp.io', 'acme-corp-io'],
    ['--already-a-slug--', 'already-a-slug'],
    ['a   b', 'a-b'],
    ['Team 42', 'team-42'],
    ['acme-corp', 'acme-corp'],
  ])('turns %p into %p', (input, slug) => {
    expect(normalizeSlug(input)).toBe(slug);
  });

  it.each([['!!!'], [''], ['   '], ['---'], ['日本語']])(
    'gives undefined when nothing usable is left (%p)',
    (input) => {
      expect(normalizeSlug(input)).toBeUndefined();
    },
  );

  it('trims to 50 characters without leaving a trailing hyphen', () => {
    const long = `${'a'.repeat(49)} ${'b'.repeat(10)}`;
    expect(normalizeSlug(long)).toBe('a'.repeat(49));
    expect(normalizeSlug('x'.repeat(80))).toBe('x'.repeat(50));
  });

  it('always returns a valid slug or undefined', () => {
    const inputs = ['Ünïcödé Org', 'a-'.repeat(40), 'ß straße', '1.2.3', `${'Ab '.repeat(30)}`];
    for (const input of inputs) {
      const slug = normalizeSlug(input);
      if (slug !== undefined) expect(isValidSlug(slug)).toBe(true);
    }
  });
});
