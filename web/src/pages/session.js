// One session: its state (polled), actions, events, the command's log, and its snapshots (save
// now, list, download, restore into the running session, delete).
import { html, nothing } from "lit-html";
import { api, path } from "../api.js";
import { act, badge, bytes, can, list, resource, when, when_ } from "../ui.js";
import { sessionActions } from "./session-actions.js";

const S = "/api/sessions/{id}";

export function sessionPage(app, id) {
  const detail = resource(app, () => api("GET", path(S, id)));
  const snapshots = resource(app, () => api("GET", path(`${S}/snapshots`, id)));
  const logs = { text: null, error: null };
  const links = {};
  const poll = setInterval(() => detail.reload(), 3000);
  const loadLogs = () =>
    act(app, async () => {
      try {
        logs.text = await api("GET", path(`${S}/logs`, id) + "?tail=200");
        logs.error = null;
      } catch (error) {
        logs.error = error.message;
      }
    });
  const deleteSnapshot = (snap) => {
    if (!confirm(`Delete snapshot ${snap.label || snap.id}?`)) return;
    act(app, () => api("DELETE", path(`${S}/snapshots/{sid}`, id, snap.id)), () => snapshots.reload());
  };
  const save = (event) => {
    const label = new FormData(event.target).get("label");
    event.preventDefault();
    act(app, () => api("POST", path(`${S}/snapshots/save`, id), label ? { label } : {}), () => snapshots.reload());
  };
  const restore = (snap) => {
    if (!confirm(`Replace the session's persisted files with ${snap.label || snap.id}?`)) return;
    act(app, () => api("POST", path(`${S}/snapshots/{sid}/restore`, id, snap.id)), () =>
      app.notify(`Restored ${snap.label || snap.id}.`, "ok"));
  };
  const snapshotRows = (r) =>
    list(r.snapshots, "No snapshots of this session.", (snap) => html`<li data-snapshot=${snap.label || snap.id}>
      <span>${snap.label || snap.id}</span> ${snap.latest ? badge("latest") : nothing}
      <small>${bytes(snap.bytes)} · ${when_(snap.uploadedAt || snap.createdAt)}</small>
      ${snap.uploadedAt
        ? html`<a class="button" href=${path(`${S}/snapshots/{sid}/content`, id, snap.id)} download>Download</a>`
        : html`<small>(content not uploaded)</small>`}
      ${can(app, "member") && snap.uploadedAt && detail.data?.session.state === "running"
        ? html`<button type="button" @click=${() => restore(snap)}>Restore</button>`
        : nothing}
      ${can(app, "member")
        ? html`<button type="button" class="danger" @click=${() => deleteSnapshot(snap)}>Delete</button>`
        : nothing}
    </li>`);
  return {
    title: "Session",
    dispose: () => clearInterval(poll),
    view: () => when(detail, ({ session, events }) => html`
      <h1 tabindex="-1">${session.name}</h1>
      <p>${badge(session.state)} ${session.stateDetail ?? ""} · template ${session.templateName}
        · created ${when_(session.createdAt)}</p>
      ${sessionActions(app, session, detail.reload, links)}
      <section>
        <h2>Log</h2>
        <button type="button" @click=${loadLogs}>${logs.text === null ? "Show the command's log" : "Refresh log"}</button>
        ${logs.error ? html`<p class="state error">${logs.error}</p>` : nothing}
        ${logs.text !== null ? html`<pre class="log">${logs.text || "(empty)"}</pre>` : nothing}
      </section>
      <section>
        <h2>Snapshots</h2>
        ${can(app, "member") && session.state === "running"
          ? html`<form class="inline" @submit=${save} aria-label="Save a snapshot">
              <label>Label <input name="label" maxlength="200" autocomplete="off"></label>
              <button type="submit" ?disabled=${app.busy}>Save snapshot now</button>
            </form>`
          : nothing}
        <ul class="plain">${when(snapshots, snapshotRows)}</ul>
      </section>
      <section>
        <h2>Events</h2>
        <ol class="events">
          ${list(events, "No events.", (e) => html`<li>${badge(e.state)} <small>${when_(e.createdAt)}</small>
            ${e.details && Object.keys(e.details).length ? html`<code>${JSON.stringify(e.details)}</code>` : nothing}</li>`)}
        </ol>
      </section>`),
  };
}
