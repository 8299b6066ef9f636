// Assertions that stay on in production. A failed assertion is a bug (a broken invariant), never an operating
// condition: it throws `AssertionError`, which the agent treats as fatal (it terminates and reports the error).

/** A broken invariant of the broker agent. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
