/*
 * A promise and the functions that settle it, for an outcome another callback delivers (a
 * RECEIPT, a stop): what Promise.withResolvers gives, which Node 20 lacks.
 */
export interface Settleable {
  promise: Promise<void>;
  resolve: () => void;
  reject: (reason: unknown) => void;
}

export function settleable(): Settleable {
  let resolve = () => {};
  let reject: (reason: unknown) => void = () => {};
  const promise = new Promise<void>((resolvePromise, rejectPromise) => {
    resolve = resolvePromise;
    reject = rejectPromise;
  });
  return { promise, resolve, reject };
}
