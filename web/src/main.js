// The app's entry: the CSP shim first, then the signed-in context, the router (History API paths;
// the server answers every non-API path with this page) and the shell around each page.
import "./csp.js";
import { html, render, nothing } from "lit-html";
import { api } from "./api.js";
import { can } from "./ui.js";
import { signInPage, signUpPage } from "./pages/auth.js";
import { devicePage } from "./pages/device.js";
import { sessionsPage } from "./pages/sessions.js";
import { sessionPage } from "./pages/session.js";
import { terminalPage } from "./pages/terminal.js";
import { templatesPage } from "./pages/templates.js";
import { templatePage } from "./pages/template.js";
import { workspacePage } from "./pages/workspace.js";
import { usagePage } from "./pages/usage.js";
import { adminPage } from "./pages/admin.js";

const ROUTES = [
  [/^\/$/, sessionsPage],
  [/^\/sessions\/([^/]+)$/, sessionPage],
  [/^\/sessions\/([^/]+)\/terminal$/, terminalPage],
  [/^\/templates$/, templatesPage],
  [/^\/templates\/([^/]+)$/, templatePage],
  [/^\/workspace$/, workspacePage],
  [/^\/usage$/, usagePage],
  [/^\/admin$/, adminPage],
  [/^\/approve$/, devicePage],
];
const PUBLIC = [
  [/^\/signin$/, signInPage],
  [/^\/signup$/, signUpPage],
];

const root = document.getElementById("app");
// The static "Loading…" of index.html goes; lit-html owns the element from here.
root.textContent = "";
const app = {
  me: null,
  busy: false,
  notice: null,
  page: null,
  update() {
    try {
      render(shell(), root);
    } catch (error) {
      // A page that cannot render says so instead of freezing on its last state.
      console.error(error);
      render(html`<main><p class="state error" role="alert">This page failed to show: ${String(error)}</p></main>`, root);
    }
  },
  notify(error, kind = "error") {
    app.notice = { kind, text: typeof error === "string" ? error : error?.message ?? String(error) };
    if (error?.status === 401) app.signedOut();
    app.update();
  },
  navigate(to) {
    history.pushState(null, "", to);
    route();
  },
  async signedIn() {
    app.me = await api("GET", "/api/auth/me");
    const next = new URLSearchParams(location.search).get("next");
    app.navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
  },
  signedOut() {
    app.me = null;
    if (!PUBLIC.some(([re]) => re.test(location.pathname))) {
      const next = location.pathname + location.search;
      history.replaceState(null, "", `/signin?next=${encodeURIComponent(next)}`);
      route();
    }
  },
};

function route() {
  app.page?.dispose?.();
  app.notice = null;
  const pathname = location.pathname;
  const table = app.me ? ROUTES.concat(PUBLIC) : PUBLIC;
  const match = table.map(([re, page]) => [pathname.match(re), page]).find(([m]) => m);
  if (!match) {
    if (!app.me && ROUTES.some(([re]) => re.test(pathname))) return app.signedOut();
    app.page = { title: "Not found", view: () => html`<h1>Not found</h1><p>No page at ${pathname}.</p>` };
  } else {
    const [m, page] = match;
    app.page = page(app, ...m.slice(1).map(decodeURIComponent));
  }
  document.title = `${app.page.title} · BurstFlare`;
  app.update();
  document.querySelector("main h1")?.focus();
}

async function signOut() {
  try {
    await api("POST", "/api/auth/logout");
  } catch {
    // Signed out either way.
  }
  app.me = null;
  app.navigate("/signin");
}

function nav() {
  if (!app.me) return nothing;
  const links = [
    ["/", "Sessions"],
    ["/templates", "Templates"],
    ["/workspace", "Workspace"],
    ["/usage", "Usage"],
  ];
  if (can(app, "admin")) links.push(["/admin", "Admin"]);
  const here = location.pathname;
  return html`<header class="top">
    <a class="brand" href="/">BurstFlare</a>
    <nav aria-label="Main">
      ${links.map(
        ([href, label]) =>
          html`<a href=${href} aria-current=${here === href || (href !== "/" && here.startsWith(href)) ? "page" : "false"}>${label}</a>`,
      )}
    </nav>
    <div class="who">
      <span class="ws" title="Workspace and role">${app.me.workspace.name} · ${app.me.workspace.role}</span>
      <span class="email">${app.me.user.email}</span>
      <button type="button" @click=${signOut}>Sign out</button>
    </div>
  </header>`;
}

function shell() {
  const notice = app.notice;
  return html`${nav()}
    <main aria-busy=${app.busy ? "true" : "false"}>
      ${notice
        ? html`<div class="notice notice-${notice.kind}" role=${notice.kind === "error" ? "alert" : "status"}>
            <span>${notice.text}</span>
            <button type="button" aria-label="Dismiss" @click=${() => ((app.notice = null), app.update())}>×</button>
          </div>`
        : nothing}
      ${app.page ? app.page.view() : nothing}
    </main>`;
}

// Same-origin links navigate inside the app (modifier clicks and downloads keep their default).
document.addEventListener("click", (event) => {
  const a = event.target.closest?.("a[href]");
  if (!a || a.target || a.hasAttribute("download") || event.defaultPrevented) return;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api/") || url.pathname.startsWith("/runtime/")) return;
  event.preventDefault();
  app.navigate(url.pathname + url.search);
});
window.addEventListener("popstate", route);

(async () => {
  try {
    app.me = await api("GET", "/api/auth/me");
  } catch {
    app.me = null;
  }
  if (!app.me && !PUBLIC.some(([re]) => re.test(location.pathname))) return app.signedOut();
  if (app.me && PUBLIC.some(([re]) => re.test(location.pathname))) history.replaceState(null, "", "/");
  route();
})();
