/** A value now, or later. The decision stays synchronous when every token was seen before. */
export type MaybePromise<T> = T | Promise<T>;

/** Applies `f` now when `value` is ready, else when it resolves. */
export function andThen<T, U>(value: MaybePromise<T>, f: (v: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(f) : f(value);
}
