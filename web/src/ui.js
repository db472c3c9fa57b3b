// Shared pieces of the pages: the signed-in context (who, which workspace, which role), loading /
// empty / error states for anything fetched, a notice line, and small formatters. Everything is
// rendered through lit-html bindings, which set text and attributes, never HTML.
import { html, nothing } from "lit-html";

const RANK = { viewer: 0, member: 1, admin: 2, owner: 3 };

/** Whether the signed-in role is at least `role`. */
export function can(app, role) {
  const mine = app.me?.workspace?.role ?? app.me?.membership?.role ?? "viewer";
  return (RANK[mine] ?? 0) >= RANK[role];
}

/** Something fetched: `state` is loading, ok or error; `reload()` fetches again. */
export function resource(app, load) {
  const r = { state: "loading", data: null, error: null };
  r.reload = async () => {
    try {
      r.data = await load();
      r.state = "ok";
      r.error = null;
    } catch (error) {
      r.error = error;
      r.state = r.data === null ? "error" : "ok";
      if (r.data !== null) app.notify(error);
    }
    app.update();
  };
  r.reload();
  return r;
}

/** The loading / error state of `r`, or `ok(data)` once loaded. */
export function when(r, ok) {
  if (r.state === "loading") return html`<p class="state" role="status">Loading…</p>`;
  if (r.state === "error") {
    return html`<div class="state error" role="alert">
      <p>${r.error?.message ?? "Something went wrong"}</p>
      <button type="button" @click=${() => r.reload()}>Try again</button>
    </div>`;
  }
  return ok(r.data);
}

/** `items` as `row` each, or an empty state. */
export function list(items, empty, row) {
  if (!items || items.length === 0) return html`<p class="state empty">${empty}</p>`;
  return items.map(row);
}

/** Runs a user action: `busy` while it runs, errors to the notice line, `then` after success. */
export async function act(app, work, done) {
  app.busy = true;
  app.update();
  try {
    const result = await work();
    if (done) await done(result);
    return result;
  } catch (error) {
    app.notify(error);
    return undefined;
  } finally {
    app.busy = false;
    app.update();
  }
}

/** Reads a form's fields as an object (`name` -> value). */
export function fields(event) {
  event.preventDefault();
  return Object.fromEntries(new FormData(event.target).entries());
}

export function bytes(n) {
  if (n == null) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function when_(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** A state badge (its class says the colour; the text says the state). */
export function badge(state) {
  return html`<span class="badge badge-${String(state).replace(/[^a-z_]/g, "")}">${state}</span>`;
}

export const maybe = (cond, view) => (cond ? view() : nothing);
