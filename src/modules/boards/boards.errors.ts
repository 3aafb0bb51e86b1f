import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';

/** Errors of the boards module. Another tenant's object and a missing one give the same 404. */
export const BoardErrors = {
  boardNotFound: () => new DomainError(ErrorCode.NotFound, 'Board not found.'),
  generationNotFound: () => new DomainError(ErrorCode.NotFound, 'Generation not found.'),
  memberNotFound: () => new DomainError(ErrorCode.NotFound, 'Member not found.'),
  userNotFound: () => new DomainError(ErrorCode.NotFound, 'User not found in this organization.'),
  forbidden: (action: string) =>
    new DomainError(
      ErrorCode.Forbidden,
      `Your role on this board does not allow you to ${action}.`,
    ),
  stale: () =>
    new DomainError(
      ErrorCode.PreconditionFailed,
      'The board changed since you read it (If-Match does not match its ETag); fetch it again and retry.',
    ),
  badIfMatch: () =>
    new DomainError(ErrorCode.BadRequest, 'If-Match must be an ETag returned by this API.'),
  alreadyMember: () =>
    new DomainError(ErrorCode.Conflict, 'The user is already a member of this board.'),
  ownerIsNotMember: () =>
    new DomainError(
      ErrorCode.BadRequest,
      'The owner of a board cannot be added as a member; the owner has every right already.',
    ),
  notCancellable: (status: string) =>
    new DomainError(
      ErrorCode.Conflict,
      `Only pending or processing generations can be cancelled; this one is ${status}.`,
    ),
};
