/**
 * Another site for the browser tests: a plain HTTP server on 127.0.0.1 (a
 * different site from the app's `localhost`) whose pages attack the app
 * the ways a page can without a CORS grant: auto-submitted forms in each
 * encoding a form has, and `fetch()` calls with and without credentials.
 *
 * @module
 */
import { createServer, type Server } from "node:http";

/** The encodings an HTML form can send. */
export const FORM_ENCODINGS = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"] as const;

export interface OtherSite {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** A page that auto-submits a POST form of `enctype` to `target`. */
  formPage(target: string, enctype: (typeof FORM_ENCODINGS)[number]): string;
  /** A page that fires `fetch()`es at the app at `appUrl` and sets its title to "done" when all settled. */
  fetchPage(appUrl: string, sessionId: string): string;
  close(): Promise<void>;
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

function formHtml(target: string, enctype: string): string {
  // With text/plain the fields read as a JSON object: `{"email":"…","password":"…","x":"="}`.
  return `<!doctype html><meta charset="utf-8"><title>win a prize</title>
<form method="post" action="${escape(target)}" enctype="${escape(enctype)}">
<input type="hidden" name='{"email":"ada@example.com","password":"correct horse","remember_me":true,"keep_current":false,"x":"' value='"}'>
<input type="hidden" name="email" value="ada@example.com">
<input type="hidden" name="password" value="correct horse">
<input type="hidden" name="keep_current" value="false">
</form>
<script>document.forms[0].submit();</script>`;
}

function fetchHtml(app: string, sessionId: string): string {
  const calls = [
    // Simple requests (no preflight): sent, but without the SameSite=Strict cookies.
    `fetch(${JSON.stringify(app + "/auth/logout")}, { method: "POST", mode: "no-cors", credentials: "include", headers: { "Content-Type": "text/plain" }, body: "{}" })`,
    `fetch(${JSON.stringify(app + "/auth/logout-all")}, { method: "POST", mode: "no-cors", credentials: "include", body: new URLSearchParams({ keep_current: "false" }) })`,
    `fetch(${JSON.stringify(app + "/auth/refresh")}, { method: "POST", mode: "no-cors", credentials: "include", body: new FormData() })`,
    `fetch(${JSON.stringify(app + "/auth/login")}, { method: "POST", mode: "no-cors", credentials: "include", headers: { "Content-Type": "text/plain" }, body: JSON.stringify({ email: "ada@example.com", password: "correct horse" }) })`,
    `fetch(${JSON.stringify(app + "/auth/sessions")}, { credentials: "include" })`,
    // Need a preflight the app never grants: not sent at all.
    `fetch(${JSON.stringify(app + "/auth/logout")}, { method: "POST", credentials: "include", headers: { "X-Requested-With": "fetch" } })`,
    `fetch(${JSON.stringify(app + "/auth/sessions/" + encodeURIComponent(sessionId))}, { method: "DELETE", credentials: "include" })`,
    `fetch(${JSON.stringify(app + "/auth/logout")}, { method: "POST", credentials: "include", headers: { "Content-Type": "application/json" }, body: "{}" })`,
  ];
  return `<!doctype html><meta charset="utf-8"><title>loading</title>
<script>
Promise.allSettled([${calls.join(",\n")}]).then((results) => {
  document.body.dataset.results = JSON.stringify(results.map((r) => r.status));
  document.title = "done";
});
</script>`;
}

export async function startOtherSite(): Promise<OtherSite> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    res.setHeader("Content-Type", "text/html; charset=utf-8");
    if (url.pathname === "/form") res.end(formHtml(url.searchParams.get("target") ?? "", url.searchParams.get("enctype") ?? ""));
    else if (url.pathname === "/fetch") res.end(fetchHtml(url.searchParams.get("app") ?? "", url.searchParams.get("sid") ?? ""));
    else if (url.pathname === "/favicon.ico") res.writeHead(204).end();
    else res.writeHead(404).end("not here");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    formPage: (target, enctype) => `${url}/form?${new URLSearchParams({ target, enctype })}`,
    fetchPage: (appUrl, sessionId) => `${url}/fetch?${new URLSearchParams({ app: appUrl, sid: sessionId })}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
