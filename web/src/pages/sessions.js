// The sessions of the workspace with their live state (polled every 3 seconds while shown), and
// the form that creates one from a template's promoted version.
import { html, nothing } from "lit-html";
import { api } from "../api.js";
import { act, badge, can, fields, list, resource, when, when_ } from "../ui.js";
import { sessionActions } from "./session-actions.js";

export function sessionsPage(app) {
  const sessions = resource(app, () => api("GET", "/api/sessions").then((r) => r.sessions));
  const templates = resource(app, () => api("GET", "/api/templates").then((r) => r.templates));
  const links = {};
  const poll = setInterval(() => sessions.reload(), 3000);
  const create = (event) => {
    const f = fields(event);
    const form = event.target;
    act(app, () => api("POST", "/api/sessions", { name: f.name, templateId: f.templateId }), () => {
      form.reset();
      return sessions.reload();
    });
  };
  const createForm = (all) => {
    const usable = all.filter((t) => t.activeVersionId && !t.archivedAt);
    if (usable.length === 0) {
      return html`<p class="state empty">No template has a promoted version yet:
        <a href="/templates">create one</a> to start sessions.</p>`;
    }
    return html`<form class="inline" @submit=${create} aria-label="New session">
      <label>Name <input name="name" required maxlength="64" autocomplete="off"></label>
      <label>Template
        <select name="templateId" required>
          ${usable.map((t) => html`<option value=${t.id}>${t.name}</option>`)}
        </select></label>
      <button type="submit" class="primary" ?disabled=${app.busy}>Create session</button>
    </form>`;
  };
  return {
    title: "Sessions",
    dispose: () => clearInterval(poll),
    view: () => html`<h1 tabindex="-1">Sessions</h1>
      ${can(app, "member") ? when(templates, createForm) : nothing}
      ${when(sessions, (all) =>
        all.length === 0
          ? html`<p class="state empty">No sessions yet.</p>`
          : html`<table class="cards">
              <thead><tr><th scope="col">Name</th><th scope="col">Template</th><th scope="col">State</th>
                <th scope="col">Last active</th><th scope="col">Actions</th></tr></thead>
              <tbody>
                ${list(all, "", (s) => html`<tr data-session=${s.name}>
                  <td data-label="Name"><a href=${`/sessions/${encodeURIComponent(s.id)}`}>${s.name}</a></td>
                  <td data-label="Template">${s.templateName}</td>
                  <td data-label="State" class="state-cell">${badge(s.state)}
                    ${s.stateDetail ? html`<small>${s.stateDetail}</small>` : nothing}</td>
                  <td data-label="Last active">${when_(s.lastActiveAt) || "—"}</td>
                  <td data-label="Actions">${sessionActions(app, s, sessions.reload, links)}</td>
                </tr>`)}
              </tbody>
            </table>`,
      )}`,
  };
}
