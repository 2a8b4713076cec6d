/**
 * `req.session` typed by declaration merging. Apps that pick another
 * `requestProperty` declare their own property the same way.
 *
 * @module
 */
import type { SessionHandle } from "./sessions/handle.js";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The live session set by the guard (`undefined` only behind `guard.optional`). */
      session: SessionHandle;
    }
  }
}

export {};
