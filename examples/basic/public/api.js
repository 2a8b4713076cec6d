// The page's calls to the session routes and the app's API, with the
// transparent refresh: a call that answers 401 token_expired or
// token_missing refreshes once and is retried. With cookie transport the
// browser drops the access cookie when the token lapses, so a cookie
// client sees token_missing, not token_expired: both mean "refresh".

/** The CSRF header the guard's default rule asks of a cookie-authenticated POST or DELETE. */
const CSRF_HEADER = { "X-Requested-With": "fetch" };
/** When this device's access cookie lapses (local clock, ms). Not a credential: the tokens are HttpOnly cookies. */
const HINT = "acme:access-expires-at";

/** The session has ended (or there is none): show the login form with `message`. */
export class SignedOut extends Error {
  constructor(message) {
    super(message);
    this.name = "SignedOut";
  }
}

/** Any other failure, with the server's error code. */
export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
  }
}

/** True when this device signed in and has not signed out since (the page then asks the server). */
export function maybeSignedIn() {
  return localStorage.getItem(HINT) !== null;
}

/** Seconds until this device's access token lapses, or 0. */
export function accessSecondsLeft() {
  const at = Number(localStorage.getItem(HINT));
  return Number.isFinite(at) ? Math.max(0, Math.round((at - Date.now()) / 1000)) : 0;
}

function remember(expiresIn) {
  localStorage.setItem(HINT, String(Date.now() + expiresIn * 1000));
}

function forget() {
  localStorage.removeItem(HINT);
}

async function send(path, { method = "GET", body } = {}) {
  const headers = { ...CSRF_HEADER, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError("The server cannot be reached. Check your connection and try again.", "network", 0);
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  return { res, data };
}

/** What the login form says after the session ended with `code`. */
function endedMessage(code, message) {
  switch (code) {
    case "session_inactive":
      return "This device was signed out: its session was ended, perhaps from another device. Sign in again.";
    case "refresh_token_reused":
      return "For your safety this session was ended: its refresh token was used twice. Sign in again.";
    case "invalid_request":
      // Two session cookies of one name (another site may have set one): the server cleared them.
      if (typeof message === "string" && message.includes("cookie"))
        return "This browser sent two session cookies of one name (another site may have set one). They were cleared: sign in again.";
      return "Your session has ended. Sign in again.";
    default:
      return "Your session has ended. Sign in again.";
  }
}

let refreshing = null;

/** Rotates the refresh cookie for a new access cookie; one at a time however many calls need it. */
export function refresh() {
  refreshing ??= (async () => {
    try {
      const { res, data } = await send("/auth/refresh", { method: "POST" });
      if (res.ok) {
        remember(data.expires_in);
        return data;
      }
      forget();
      throw new SignedOut(endedMessage(data?.error, data?.message));
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/**
 * A call to the app or the session routes. Refreshes first when this
 * device's access cookie has lapsed (so no request is sent to be refused),
 * and once more if the server answers 401 token_expired or token_missing.
 */
export async function api(path, options = {}) {
  if (maybeSignedIn() && accessSecondsLeft() < 1) await refresh();
  let { res, data } = await send(path, options);
  if (res.status === 401 && (data?.error === "token_expired" || data?.error === "token_missing")) {
    await refresh();
    ({ res, data } = await send(path, options));
  }
  if (res.ok) return data;
  if (res.status === 401) {
    forget();
    throw new SignedOut(endedMessage(data?.error, data?.message));
  }
  if (res.status === 400 && data?.error === "invalid_request" && options.body === undefined) {
    // A bodyless call fails so only for its cookies (one sent twice): logging out clears them.
    await send("/auth/logout", { method: "POST" });
    forget();
    throw new SignedOut(endedMessage(data.error, data.message));
  }
  throw new ApiError(data?.message ?? `The server answered ${res.status}.`, data?.error, res.status);
}

/** POST /auth/login. Resolves to the session, or throws ApiError (invalid_credentials: wrong email or password). */
export async function signIn(email, password, rememberMe) {
  const { res, data } = await send("/auth/login", { method: "POST", body: { email, password, remember_me: rememberMe } });
  if (!res.ok) {
    const message =
      data?.error === "invalid_credentials" ? "That email and password do not match an account." : (data?.message ?? "Sign-in failed.");
    throw new ApiError(message, data?.error, res.status);
  }
  remember(data.expires_in);
  return data.session;
}

/** POST /auth/logout: ends this session and clears its cookies, whatever state it was in. */
export async function signOut() {
  try {
    await send("/auth/logout", { method: "POST" });
  } finally {
    forget();
  }
}

/** POST /auth/logout-all: every session (`keepCurrent`: every other one). Resolves to how many ended. */
export async function signOutAll(keepCurrent) {
  const { revoked } = await api("/auth/logout-all", { method: "POST", body: { keep_current: keepCurrent } });
  if (!keepCurrent) forget();
  return revoked;
}

/** GET /auth/sessions: this user's live sessions, newest first. */
export async function listSessions() {
  const { sessions } = await api("/auth/sessions");
  return sessions;
}

/** DELETE /auth/sessions/:id: signs one device out. */
export async function revokeSession(id) {
  await api(`/auth/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });
}

/** Forget this device's sign-in when another tab signs out. */
export function onSignedOutElsewhere(listener) {
  window.addEventListener("storage", (event) => {
    if (event.key === HINT && event.newValue === null) listener();
  });
}
