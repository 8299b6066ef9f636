// Async-iterable helpers for the gateway's streams.

/**
 * Iterates `source` until it ends or `signal` aborts (then it simply stops, even while waiting for the next item).
 * The source's pending read is left to settle on its own; its rejection is absorbed.
 */
export async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let removeListener = (): void => {};
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal.aborted) return resolve('aborted');
    const onAbort = (): void => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    removeListener = () => signal.removeEventListener('abort', onAbort);
  });
  try {
    for (;;) {
      const next = iterator.next();
      next.catch(() => undefined);
      const result = await Promise.race([next, aborted]);
      if (result === 'aborted' || result.done === true) return;
      yield result.value;
    }
  } finally {
    removeListener();
    void iterator.return?.()?.catch(() => undefined);
  }
}
