// The devices page: the login form, or who you are and your sessions.
import {
  accessSecondsLeft,
  api,
  ApiError,
  listSessions,
  maybeSignedIn,
  onSignedOutElsewhere,
  revokeSession,
  signIn,
  SignedOut,
  signOut,
  signOutAll,
} from "./api.js";
import { describeDevice, duration, formatDate, fromNow } from "./format.js";

const $ = (id) => document.getElementById(id);

const state = { me: null, sessions: [], busy: false };

// ---- messages (never alert()) ----

function notify(text, kind = "info") {
  $("notice-text").textContent = text;
  $("notice").dataset.kind = kind;
  $("notice").hidden = false;
}

function clearNotice() {
  $("notice").hidden = true;
  $("notice-text").textContent = "";
}

// ---- views ----

function showLogin(message, kind = "info") {
  state.me = null;
  state.sessions = [];
  $("loading").hidden = true;
  $("account-view").hidden = true;
  $("topbar-user").hidden = true;
  $("login-view").hidden = false;
  clearNotice();
  const box = $("login-message");
  box.hidden = !message;
  box.textContent = message ?? "";
  box.dataset.kind = kind;
  document.title = "Sign in · Acme account";
  $("login-title").focus();
}

function showAccount() {
  $("loading").hidden = true;
  $("login-view").hidden = true;
  $("account-view").hidden = false;
  $("topbar-user").hidden = false;
  document.title = "Devices · Acme account";
}

/** Runs an action with the buttons disabled; a lapsed session lands on the login form, anything else is a message. */
async function run(action, { button } = {}) {
  if (state.busy) return;
  state.busy = true;
  document.body.setAttribute("aria-busy", "true");
  for (const b of document.querySelectorAll("button")) if (!b.classList.contains("notice-close")) b.disabled = true;
  if (button) button.dataset.loading = "true";
  try {
    await action();
  } catch (err) {
    if (err instanceof SignedOut) showLogin(err.message, "warning");
    else if (err instanceof ApiError) notify(err.message, "error");
    else notify("Something went wrong. Reload the page and try again.", "error");
  } finally {
    state.busy = false;
    document.body.removeAttribute("aria-busy");
    for (const b of document.querySelectorAll("button")) b.disabled = false;
    if (button) delete button.dataset.loading;
  }
}

// ---- the account view ----

async function loadAccount() {
  const [me, sessions] = await Promise.all([api("/api/me"), listSessions()]);
  state.me = me;
  state.sessions = sessions;
  const wasHidden = $("account-view").hidden;
  renderMe();
  renderSessions();
  showAccount();
  if (wasHidden) $("account-title").focus();
}

async function reloadSessions() {
  state.sessions = await listSessions();
  renderSessions();
}

function renderMe() {
  const { user, session } = state.me;
  $("me-name").textContent = user.name ?? user.id;
  $("me-email").textContent = user.email ?? "—";
  $("me-role").textContent = user.role ?? "—";
  $("topbar-name").textContent = user.name ?? user.id;
  $("avatar").textContent = initials(user.name ?? user.id);
  const lasting = session.remember_me ? "remembered on this device" : "until you close the session";
  $("me-session").replaceChildren(
    session.expires_at === null
      ? text("Never expires (a forever session)")
      : timeEl(session.expires_at, `Expires ${fromNow(session.expires_at)}`),
    document.createElement("br"),
    small(`Signed in ${formatDate(session.created_at)}, ${lasting}`),
  );
  renderAccessCountdown();
}

function renderAccessCountdown() {
  if (!state.me) return;
  const left = accessSecondsLeft();
  $("me-access").textContent = left > 0 ? `Renews in ${duration(left)}` : "Renews on your next action";
}

function renderSessions() {
  const list = $("sessions");
  const rows = state.sessions.map(sessionRow);
  list.replaceChildren(...rows);
  $("sessions-count").textContent = String(state.sessions.length);
  $("logout-others").hidden = state.sessions.length < 2;
}

function sessionRow(session) {
  const row = $("session-row").content.firstElementChild.cloneNode(true);
  const device = describeDevice(session.user_agent);
  row.dataset.sessionId = session.id;
  row.dataset.current = String(session.current);
  row.querySelector(".device-icon").dataset.type = device.type;
  row.querySelector(".device-icon").innerHTML = ICONS[device.type] ?? ICONS.desktop;
  row.querySelector(".session-name").textContent = device.browser;
  const badges = row.querySelector(".badges");
  if (session.current) badges.append(badge("This device", "current"));
  if (session.expires_at === null) badges.append(badge("Forever", "forever"));
  else if (session.remember_me) badges.append(badge("Remember me", "remember"));
  row.querySelector(".session-os").textContent = `${device.os} · ${device.typeLabel}`;
  row.querySelector(".session-ip").textContent = session.ip ? `IP ${session.ip}` : "IP unknown";
  row.querySelector(".session-created").replaceChildren(text("Signed in "), timeEl(session.created_at, formatDate(session.created_at)));
  row
    .querySelector(".session-used")
    .replaceChildren(text("Last active "), timeEl(session.last_used_at, fromNow(session.last_used_at), "last-used"));
  const action = row.querySelector(".session-action");
  if (session.current) {
    action.textContent = "Log out";
    action.setAttribute("aria-label", "Log out of this device");
    action.addEventListener("click", () => run(logout, { button: action }));
  } else {
    action.textContent = "Revoke";
    action.classList.add("btn-danger-soft");
    action.setAttribute("aria-label", `Revoke ${device.browser} on ${device.os}`);
    action.addEventListener("click", () =>
      run(
        async () => {
          await revokeSession(session.id);
          await reloadSessions();
          notify(`Signed out ${device.browser} on ${device.os}.`, "success");
          $("sessions-title").focus();
        },
        { button: action },
      ),
    );
  }
  return row;
}

/** Re-renders the relative times ("3 minutes ago") as they age. */
function tick() {
  renderAccessCountdown();
  for (const el of document.querySelectorAll("time.last-used")) el.textContent = fromNow(el.dateTime);
}

// ---- actions ----

async function logout() {
  await signOut();
  showLogin("You are signed out.", "success");
}

async function login(event) {
  event.preventDefault();
  const form = $("login-form");
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email || !password) {
    showLoginError("Enter your email and password.");
    return;
  }
  await run(
    async () => {
      try {
        await signIn(email, password, form.remember.checked);
      } catch (err) {
        if (err instanceof ApiError) {
          showLoginError(err.message);
          form.password.select();
          return;
        }
        throw err;
      }
      form.reset();
      $("login-message").hidden = true;
      await loadAccount();
    },
    { button: $("login-submit") },
  );
}

function showLoginError(message) {
  const box = $("login-message");
  box.textContent = message;
  box.dataset.kind = "error";
  box.hidden = false;
}

// ---- small DOM helpers ----

function text(value) {
  return document.createTextNode(value);
}

function small(value) {
  const el = document.createElement("small");
  el.className = "muted";
  el.textContent = value;
  return el;
}

function badge(label, kind) {
  const el = document.createElement("span");
  el.className = `badge badge-${kind}`;
  el.textContent = label;
  return el;
}

function timeEl(iso, label, className) {
  const el = document.createElement("time");
  el.dateTime = iso;
  el.title = formatDate(iso);
  el.textContent = label;
  if (className) el.className = className;
  return el;
}

function initials(name) {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0].toUpperCase())
    .join("");
}

const svg = (body) =>
  `<svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">${body}</svg>`;
const ICONS = {
  desktop: svg('<rect x="3" y="4" width="18" height="12" rx="2"/><path d="M8 20h8M12 16v4"/>'),
  mobile: svg('<rect x="7" y="2.5" width="10" height="19" rx="2.5"/><path d="M11 18.5h2"/>'),
  tablet: svg('<rect x="4.5" y="2.5" width="15" height="19" rx="2.5"/><path d="M11 18.5h2"/>'),
  tv: svg('<rect x="2.5" y="4" width="19" height="13" rx="2"/><path d="M8 21h8"/>'),
  unknown: svg('<circle cx="12" cy="12" r="9"/><path d="M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .8-1 1.5V14M12 17.5h.01"/>'),
};

// ---- wiring ----

function start() {
  $("login-form").addEventListener("submit", login);
  $("fill-demo").addEventListener("click", () => {
    const form = $("login-form");
    form.email.value = "ada@example.com";
    form.password.value = "correct horse";
    $("login-submit").focus();
  });
  $("logout").addEventListener("click", () => run(logout, { button: $("logout") }));
  $("reload-sessions").addEventListener("click", () =>
    run(
      async () => {
        await reloadSessions();
        renderAccessCountdown();
      },
      { button: $("reload-sessions") },
    ),
  );
  $("logout-others").addEventListener("click", () =>
    run(
      async () => {
        const ended = await signOutAll(true);
        await reloadSessions();
        notify(ended === 1 ? "Signed out 1 other device." : `Signed out ${ended} other devices.`, "success");
      },
      { button: $("logout-others") },
    ),
  );
  $("logout-everywhere").addEventListener("click", () =>
    run(
      async () => {
        const ended = await signOutAll(false);
        showLogin(`Signed out everywhere (${ended === 1 ? "1 session" : `${ended} sessions`}).`, "success");
      },
      { button: $("logout-everywhere") },
    ),
  );
  $("notice-close").addEventListener("click", clearNotice);
  onSignedOutElsewhere(() => showLogin("You signed out in another tab.", "info"));
  setInterval(tick, 1000);

  if (maybeSignedIn()) run(loadAccount);
  else showLogin();
}

start();
