import { MEMBERSHIP_SOURCES, sharedWord, TENANT_STATUSES } from './records';

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
