// The workspace's templates (archived ones marked) and the form that creates one.
import { html, nothing } from "lit-html";
import { api } from "../api.js";
import { act, badge, can, fields, list, resource, when } from "../ui.js";

export function templatesPage(app) {
  const templates = resource(app, () => api("GET", "/api/templates").then((r) => r.templates));
  const create = (event) => {
    const f = fields(event);
    const body = { name: f.name };
    if (f.description) body.description = f.description;
    act(app, () => api("POST", "/api/templates", body), (r) =>
      app.navigate(`/templates/${encodeURIComponent(r.template.id)}`));
  };
  return {
    title: "Templates",
    view: () => html`<h1 tabindex="-1">Templates</h1>
      ${can(app, "member")
        ? html`<form class="inline" @submit=${create} aria-label="New template">
            <label>Name <input name="name" required maxlength="64" autocomplete="off"></label>
            <label>Description <input name="description" maxlength="500"></label>
            <button type="submit" class="primary" ?disabled=${app.busy}>Create template</button>
          </form>`
        : nothing}
      ${when(templates, (all) => html`<ul class="cards-list">
        ${list(all, "No templates yet.", (t) => html`<li class="card" data-template=${t.name}>
          <h2><a href=${`/templates/${encodeURIComponent(t.id)}`}>${t.name}</a></h2>
          <p>${t.description}</p>
          <p>${t.archivedAt ? badge("archived") : nothing}
            ${t.activeVersion ? html`active ${t.activeVersion.version}` : html`<small>not promoted</small>`}
            · ${t.versions.length} version(s)</p>
        </li>`)}
      </ul>`)}`,
  };
}
