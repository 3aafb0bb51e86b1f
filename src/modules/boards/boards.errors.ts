import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';

/** Errors of the boards module. Another tenant's object and a missing one give the same 404. */
export const BoardErrors = {
  boardNotFound: () => new DomainError(ErrorCode.NotFound, 'board_not_found', 'Board not found.'),
  generationNotFound: () =>
    new DomainError(ErrorCode.NotFound, 'generation_not_found', 'Generation not found.'),
  memberNotFound: () =>
    new DomainError(ErrorCode.NotFound, 'board_member_not_found', 'Member not found.'),
  userNotFound: () =>
    new DomainError(ErrorCode.NotFound, 'user_not_found', 'User not found in this organization.'),
  forbidden: (action: string) =>
    new DomainError(
      ErrorCode.Forbidden,
      'board_permission_denied',
      `Your role on this board does not allow you to ${action}.`,
    ),
  stale: () =>
    new DomainError(
      ErrorCode.PreconditionFailed,
      'etag_mismatch',
      'The board changed since you read it (If-Match does not match its ETag); fetch it again and retry.',
    ),
  badIfMatch: () =>
    new DomainError(
      ErrorCode.BadRequest,
      'invalid_if_match',
      'If-Match must be an ETag returned by this API.',
    ),
  alreadyMember: () =>
    new DomainError(
      ErrorCode.Conflict,
      'already_a_member',
      'The user is already a member of this board.',
    ),
  ownerIsNotMember: () =>
    new DomainError(
      ErrorCode.BadRequest,
      'owner_cannot_be_member',
      'The owner of a board cannot be added as a member; the owner has every right already.',
    ),
  notCancellable: (status: string) =>
    new DomainError(
      ErrorCode.Conflict,
      'generation_not_cancellable',
      `Only pending or processing generations can be cancelled; this one is ${status}.`,
    ),
};
