// The actions on one session, shared by the list and the detail page: start, stop, restart,
// delete, preview and terminal, each offered only when the role and the state allow it.
import { html, nothing } from "lit-html";
import { api, path } from "../api.js";
import { act, can } from "../ui.js";

const S = "/api/sessions/{id}";

/** Asks the API for a preview link and opens it in a new tab (the link is shown too). */
export async function openPreview(app, session, links) {
  const r = await act(app, () => api("POST", path(`${S}/preview`, session.id)));
  if (r?.url) {
    links[session.id] = r.url;
    window.open(r.url, "_blank", "noopener");
    app.update();
  }
}

export function sessionActions(app, session, reload, links = {}) {
  const member = can(app, "member");
  const run = (verb, method = "POST") => () =>
    act(app, () => api(method, path(`${S}/${verb}`, session.id) + (verb === "start" ? "?wait=false" : "")), reload);
  const remove = () => {
    if (!confirm(`Delete session ${session.name}? Its files are lost unless snapshotted.`)) return;
    act(app, () => api("DELETE", path(S, session.id)), reload);
  };
  const s = session.state;
  const startable = ["created", "sleeping", "failed"].includes(s);
  const stoppable = ["running", "starting"].includes(s);
  const live = s !== "deleted";
  return html`<div class="actions" role="group" aria-label=${`Actions for ${session.name}`}>
    ${member && startable ? html`<button type="button" @click=${run("start")}>Start</button>` : nothing}
    ${member && stoppable ? html`<button type="button" @click=${run("stop")}>Stop</button>` : nothing}
    ${member && s === "running" ? html`<button type="button" @click=${run("restart")}>Restart</button>` : nothing}
    ${live ? html`<button type="button" @click=${() => openPreview(app, session, links)}>Preview</button>` : nothing}
    ${member && live ? html`<a class="button" href=${`/sessions/${encodeURIComponent(session.id)}/terminal`}>Terminal</a>` : nothing}
    ${member && live ? html`<button type="button" class="danger" @click=${remove}>Delete</button>` : nothing}
    ${links[session.id]
      ? html`<a class="preview-link" href=${links[session.id]} target="_blank" rel="noopener">Open preview ↗</a>`
      : nothing}
  </div>`;
}
