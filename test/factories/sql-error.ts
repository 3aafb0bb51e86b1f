/** What a failed statement reported: SQLSTATE and message (pg and PGlite both carry `code`). */
export interface SqlFailure {
  readonly code: string | undefined;
  readonly message: string;
}

/** Awaits `statement` and returns its failure; fails the test when the statement succeeds. */
export async function sqlFailure(statement: Promise<unknown>): Promise<SqlFailure> {
  try {
    await statement;
  } catch (err) {
    const error = err as { code?: unknown; message?: unknown; driverError?: { code?: unknown } };
    const code = error.code ?? error.driverError?.code;
    return {
      code: typeof code === 'string' ? code : undefined,
      message: String(error.message ?? err),
    };
  }
  throw new Error('expected the statement to fail, but it succeeded');
}

/** SQLSTATEs the isolation tests expect. */
export const SQLSTATE = {
  insufficientPrivilege: '42501',
  foreignKeyViolation: '23503',
  undefinedObject: '42704',
  invalidTextRepresentation: '22P02',
} as const;
