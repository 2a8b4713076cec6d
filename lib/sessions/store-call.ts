/**
 * The one wrapper of every store call: bounds it by `storeTimeout`, turns
 * any failure into `store_unavailable`, reported once through `onFailure`
 * (the `store_error` event), and publishes it on its tracing channel when
 * someone listens.
 *
 * @module
 */
import { listenedChannel } from "../diagnostics.js";
import { SessionError } from "../errors.js";
import type { Guard } from "../http/guard.js";

/** Who a store call was about, for the `store_error` event. */
export interface StoreCallSubject {
  sub?: string;
  sid?: string;
}

/** Whose calls these are: the guard, known once it is built (after its engine). */
export interface StoreCallOwner {
  readonly guard: Guard | undefined;
}

/** Runs one store operation under the timeout. */
export type StoreCaller = <T>(operation: string, call: () => Promise<T>, about?: StoreCallSubject) => Promise<T>;

/**
 * Makes the caller. Callers read the clock before calling, so a broken
 * clock is not taken for a broken store.
 */
export function storeCaller(
  timeout: number,
  onFailure: (error: Error, operation: string, about: StoreCallSubject | undefined) => void,
  owner: StoreCallOwner,
): StoreCaller {
  return function callStore<T>(operation: string, call: () => Promise<T>, about?: StoreCallSubject): Promise<T> {
    const channel = listenedChannel(operation);
    if (channel === undefined) return bounded(operation, call, about);
    const context = { operation, userId: about?.sub, sessionId: about?.sid, guard: owner.guard };
    return channel.tracePromise(() => bounded(operation, call, about), context) as Promise<T>;
  };

  function bounded<T>(operation: string, call: () => Promise<T>, about: StoreCallSubject | undefined): Promise<T> {
    const failure = (err: unknown): SessionError => {
      if (err instanceof SessionError) return err;
      onFailure(err as Error, operation, about);
      return new SessionError("store_unavailable", undefined, { cause: err });
    };
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (err) {
      return Promise.reject(failure(err));
    }
    return new Promise<T>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(failure(new Error(`store ${operation} timed out after ${timeout} ms`)));
      }, timeout);
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          // A call that already timed out was reported then; its late failure is not news.
          if (!timedOut) reject(failure(err));
        },
      );
    });
  }
}
