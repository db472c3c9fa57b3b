// This month's usage against the plan's limits, and the workspace's audit log (every member of the
// workspace, viewers too, may read it).
import { html } from "lit-html";
import { api } from "../api.js";
import { bytes, list, resource, when, when_ } from "../ui.js";

export function usagePage(app) {
  const usage = resource(app, () => api("GET", "/api/usage"));
  const audit = resource(app, () => api("GET", "/api/audit?limit=100").then((r) => r.audit));
  return {
    title: "Usage",
    view: () => html`<h1 tabindex="-1">Usage</h1>
      ${when(usage, (u) => html`<dl class="grid">
        <dt>Plan</dt><dd>${u.plan}</dd>
        <dt>Runtime this month</dt><dd>${Math.round(u.usage.runtimeSeconds / 60)} min</dd>
        <dt>Successful builds</dt><dd>${u.usage.templateBuilds}</dd>
        <dt>Snapshot storage</dt><dd>${bytes(u.usage.snapshotBytes)} of ${bytes(u.limits.maxSnapshotBytes)}</dd>
        <dt>Templates allowed</dt><dd>${u.limits.maxTemplates}</dd>
        <dt>Running sessions allowed</dt><dd>${u.limits.maxRunningSessions}</dd>
      </dl>`)}
      <section><h2>Audit log</h2>${when(audit, (all) => html`<table class="cards">
            <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Details</th></tr></thead>
            <tbody>${list(all, "Nothing recorded yet.", (a) => html`<tr>
              <td data-label="When">${when_(a.createdAt)}</td>
              <td data-label="Action">${a.action}</td>
              <td data-label="Target">${a.targetType} ${a.targetId}</td>
              <td data-label="Details"><code>${JSON.stringify(a.details)}</code></td></tr>`)}</tbody></table>`)}</section>`,
  };
}
