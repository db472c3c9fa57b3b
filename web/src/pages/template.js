// One template: add a version (manifest + bundle uploaded through a one-time grant, with a
// progress bar), its versions with their builds' live status and logs, promote, releases and
// roll back, archive / restore / delete. Each control is offered to the roles the API allows it
// to: adding versions and uploading bundles to members; promoting, rolling back, archiving,
// restoring, deleting and retrying builds to admins.
import { html, nothing } from "lit-html";
import { api, path, upload } from "../api.js";
import { act, badge, bytes, can, fields, list, resource, when, when_ } from "../ui.js";

const T = "/api/templates/{id}";
const EXAMPLE = `{
  "image": "debian:12",
  "command": ["python3", "-m", "http.server", "8000"],
  "previewPort": 8000
}`;

export function templatePage(app, id) {
  const template = resource(app, () => api("GET", path(T, id)).then((r) => r.template));
  const releases = resource(app, () =>
    api("GET", `/api/releases?templateId=${encodeURIComponent(id)}`).then((r) => r.releases));
  const logs = {};
  let progress = null;
  const poll = setInterval(() => {
    const busy = template.data?.versions.some((v) => ["queued", "building"].includes(v.status));
    if (busy) template.reload().then(() => refreshOpenLogs());
  }, 1500);
  const refreshOpenLogs = () =>
    Object.keys(logs).forEach((buildId) => showLog(buildId, true));
  const showLog = async (buildId, quiet) => {
    try {
      logs[buildId] = await api("GET", path("/api/template-builds/{id}/log", buildId));
    } catch (error) {
      if (!quiet) app.notify(error);
    }
    app.update();
  };
  const reloadAll = () => Promise.all([template.reload(), releases.reload()]);

  const addVersion = async (event) => {
    const f = fields(event);
    const form = event.target;
    const file = form.querySelector('input[type="file"]').files[0];
    let manifest;
    try {
      manifest = JSON.parse(f.manifest);
    } catch (error) {
      return app.notify(`The manifest is not valid JSON: ${error.message}`);
    }
    await act(app, async () => {
      const body = { version: f.version, manifest };
      if (f.notes) body.notes = f.notes;
      const added = await api("POST", path(`${T}/versions`, id), body);
      if (file) await uploadBundle(added.templateVersion.id, file);
      form.reset();
    }, reloadAll);
  };
  const uploadBundle = async (versionId, file) => {
    const contentType = "application/gzip";
    const { uploadGrant } = await api("POST", path(`${T}/versions/{v}/bundle/upload`, id, versionId), {
      contentType,
      bytes: file.size,
    });
    progress = 0;
    app.update();
    try {
      await upload(uploadGrant.url, file, contentType, (p) => {
        progress = p;
        app.update();
      });
    } finally {
      progress = null;
    }
  };
  const reupload = (version) => (event) => {
    const file = event.target.files[0];
    if (file) act(app, () => uploadBundle(version.id, file), reloadAll);
  };
  const promote = (version) =>
    act(app, () => api("POST", path(`${T}/promote`, id), { versionId: version.id }), reloadAll);
  const archive = (verb) => act(app, () => api("POST", path(`${T}/${verb}`, id)), reloadAll);
  const remove = (t) => {
    if (!confirm(`Delete template ${t.name} with all its versions?`)) return;
    act(app, () => api("DELETE", path(T, id)), () => app.navigate("/templates"));
  };

  const versionRow = (t, v) => {
    const [member, admin] = [can(app, "member"), can(app, "admin")];
    const build = v.build;
    return html`<li class="card" data-version=${v.version}>
      <h3>${v.version} ${badge(v.status)} ${t.activeVersionId === v.id ? badge("active") : nothing}</h3>
      ${v.notes ? html`<p>${v.notes}</p>` : nothing}
      <p><small>${v.bundle ? html`bundle ${bytes(v.bundle.bytes)}, uploaded ${when_(v.bundle.uploadedAt)}` : "no bundle yet"}</small></p>
      ${build
        ? html`<p class="build">Build ${badge(build.status)} <small>attempts ${build.attempts}
            ${build.artifact ? html`· ${build.artifact.fileCount} files, ${bytes(build.artifact.unpackedBytes)}` : nothing}</small>
            ${build.lastError ? html`<br><span class="error">${build.lastError}</span>` : nothing}
            <button type="button" @click=${() => showLog(build.id)}>Build log</button>
            ${admin && ["failed", "dead_lettered"].includes(build.status)
              ? html`<button type="button" @click=${() => act(app, () => api("POST", path("/api/template-builds/{id}/retry", build.id)), reloadAll)}>Retry</button>`
              : nothing}</p>
          ${logs[build.id] !== undefined ? html`<pre class="log build-log">${logs[build.id] || "(empty)"}</pre>` : nothing}`
        : nothing}
      <details><summary>Manifest</summary><pre>${JSON.stringify(v.manifest, null, 2)}</pre></details>
      <div class="actions">
        ${admin && v.status === "ready" && t.activeVersionId !== v.id && !t.archivedAt
          ? html`<button type="button" class="primary" @click=${() => promote(v)}>Promote</button>` : nothing}
        ${member && v.status !== "ready"
          ? html`<label class="button">Upload bundle <input type="file" class="visually-hidden" accept=".tar.gz,.tgz,application/gzip" @change=${reupload(v)}></label>`
          : nothing}
      </div>
    </li>`;
  };

  const releaseList = (t) => when(releases, (all) => html`<ol class="plain">
    ${list(all, "No releases yet.", (r) => {
      const version = t.versions.find((v) => v.id === r.templateVersionId);
      return html`<li>${version ? version.version : r.templateVersionId} <small>${when_(r.createdAt)}</small>
        ${t.activeVersionId === r.templateVersionId ? badge("active") : can(app, "admin") && version?.status === "ready" && !t.archivedAt
          ? html`<button type="button" @click=${() => promote(version)}>Roll back to this</button>` : nothing}</li>`;
    })}</ol>`);

  return {
    title: "Template",
    dispose: () => clearInterval(poll),
    view: () => when(template, (t) => html`
      <h1 tabindex="-1">${t.name} ${t.archivedAt ? badge("archived") : nothing}</h1>
      <p>${t.description}</p>
      ${can(app, "admin")
        ? html`<div class="actions">
            ${t.archivedAt
              ? html`<button type="button" @click=${() => archive("restore")}>Restore</button>`
              : html`<button type="button" @click=${() => archive("archive")}>Archive</button>`}
            <button type="button" class="danger" @click=${() => remove(t)}>Delete template</button>
          </div>`
        : nothing}
      ${can(app, "member")
        ? html`<form class="stack card" @submit=${addVersion} aria-label="New version">
            <h2>Add a version</h2>
            <label>Version <input name="version" required placeholder="1.0.0" autocomplete="off"></label>
            <label>Manifest (JSON) <textarea name="manifest" rows="7" required spellcheck="false">${EXAMPLE}</textarea></label>
            <label>Notes <input name="notes" maxlength="2000"></label>
            <label>Bundle (.tar.gz) <input type="file" name="bundle" accept=".tar.gz,.tgz,application/gzip"></label>
            ${progress !== null
              ? html`<label>Uploading <progress id="upload-progress" max="1" .value=${progress}></progress>
                  ${Math.round(progress * 100)}%</label>`
              : nothing}
            <button type="submit" class="primary" ?disabled=${app.busy}>Add version</button>
          </form>`
        : nothing}
      <section><h2>Versions</h2>
        <ul class="cards-list">${list(t.versions.slice().reverse(), "No versions yet.", (v) => versionRow(t, v))}</ul>
      </section>
      <section><h2>Releases</h2>${releaseList(t)}</section>`),
  };
}
