import { DomainError } from 'src/core/errors/domain-error';

/** The DomainError a call is refused with (fails the test when the call succeeds). */
export async function refusal(call: Promise<unknown>): Promise<DomainError> {
  const error: unknown = await call.then(
    () => {
      throw new Error('expected a refusal, the call succeeded');
    },
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}
