// The workspace report and a reconcile pass on demand (admins and the owner).
import { html, nothing } from "lit-html";
import { api } from "../api.js";
import { act, can, resource, when } from "../ui.js";

const LABELS = {
  members: "Members", templates: "Templates", templatesArchived: "Archived templates",
  buildsQueued: "Builds queued", buildsFailed: "Builds failed", buildsDeadLettered: "Builds dead-lettered",
  sessionsRunning: "Sessions running", sessionsSleeping: "Sessions sleeping", sessionsFailed: "Sessions failed",
  sessionsStaleEligible: "Sessions due for purge", sessionsTotal: "Sessions", releases: "Releases",
};

export function adminPage(app) {
  if (!can(app, "admin")) {
    return { title: "Admin", view: () => html`<h1 tabindex="-1">Admin</h1><p>Only admins see this page.</p>` };
  }
  const report = resource(app, () => api("GET", "/api/admin/report").then((r) => r.report));
  let outcome = null;
  const reconcile = () =>
    act(app, () => api("POST", "/api/admin/reconcile"), (r) => {
      outcome = r;
      return report.reload();
    });
  return {
    title: "Admin",
    view: () => html`<h1 tabindex="-1">Admin</h1>
      ${when(report, (r) => html`<dl class="grid">
        ${Object.entries(LABELS).map(([k, label]) => html`<dt>${label}</dt><dd>${r[k]}</dd>`)}
      </dl>`)}
      <button type="button" class="primary" @click=${reconcile} ?disabled=${app.busy}>Reconcile now</button>
      ${outcome
        ? html`<dl class="grid" role="status">${Object.entries(outcome).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`
        : nothing}`,
  };
}
