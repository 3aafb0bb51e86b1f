import { MEMBERSHIP_SOURCES, sharedWord, TENANT_STATUSES } from './records';

describe('sharedWord', () => {
  it("returns the list's own string for a listed value, the value itself otherwise", () => {
    const fromDriver = ['act', 'ive'].join('');
    expect(sharedWord(TENANT_STATUSES, fromDriver as 'active')).toBe(TENANT_STATUSES[0]);
    expect(sharedWord(MEMBERSHIP_SOURCES, 'invitation')).toBe('invitation');
    const unknown = 'retired_status' as 'active';
    expect(sharedWord(TENANT_STATUSES, unknown)).toBe(unknown);
  });
});
