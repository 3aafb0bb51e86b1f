import {
  MEMBERSHIP_SOURCES,
  NO_ISSUERS,
  NO_QUOTA_OVERRIDES,
  sharedIssuers,
  sharedQuotas,
  sharedWord,
  TENANT_STATUSES,
} from './records';

describe('sharedWord', () => {
  // Whether the string is the list's own copy is not observable from JavaScript; what a record
  // holds must stay equal to the driver's value either way.
  it('answers an equal value: the listed word, or the value itself when it is not listed', () => {
    const fromDriver = ['act', 'ive'].join('');
    expect(sharedWord(TENANT_STATUSES, fromDriver as 'active')).toBe(TENANT_STATUSES[0]);
    expect(sharedWord(MEMBERSHIP_SOURCES, 'invitation')).toBe('invitation');
    const unknown = 'retired_status' as 'active';
    expect(sharedWord(TENANT_STATUSES, unknown)).toBe(unknown);
  });
});

describe('sharedIssuers and sharedQuotas', () => {
  it('answer the one frozen empty value for an empty or absent one, else the value itself', () => {
    expect(sharedIssuers([])).toBe(NO_ISSUERS);
    expect(sharedIssuers(null)).toBe(NO_ISSUERS);
    const issuers = ['https://id.example.com'];
    expect(sharedIssuers(issuers)).toBe(issuers);
    expect(sharedQuotas({})).toBe(NO_QUOTA_OVERRIDES);
    expect(sharedQuotas(undefined)).toBe(NO_QUOTA_OVERRIDES);
    const quotas = { boards: 5 };
    expect(sharedQuotas(quotas)).toBe(quotas);
  });

  it('share values no record can change: a change throws instead of reaching every tenant', () => {
    expect(() => (NO_ISSUERS as string[]).push('https://evil.example.com')).toThrow(TypeError);
    expect(() => {
      (NO_QUOTA_OVERRIDES as Record<string, number>).boards = 1_000_000;
    }).toThrow(TypeError);
    expect(NO_ISSUERS).toEqual([]);
    expect(NO_QUOTA_OVERRIDES).toEqual({});
  });
});
