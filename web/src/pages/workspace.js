// The current workspace: members and their roles, invites (a new invite's code is shown once),
// accepting an invite, the plan, and switching to another workspace.
import { html, nothing } from "lit-html";
import { api, path } from "../api.js";
import { act, can, fields, list, resource, when, when_ } from "../ui.js";
import { memberExtras } from "./membership-extras.js";

const ROLES = ["viewer", "member", "admin"];
const PLANS = ["free", "pro", "enterprise"];

export function workspacePage(app) {
  const people = resource(app, () => api("GET", "/api/workspaces/current/members"));
  const workspaces = resource(app, () => api("GET", "/api/workspaces").then((r) => r.workspaces));
  let newCode = null;
  const refreshMe = async () => {
    app.me = await api("GET", "/api/auth/me");
  };
  const invite = (event) => {
    const f = fields(event);
    const form = event.target;
    act(app, () => api("POST", "/api/workspaces/current/invites", { email: f.email, role: f.role }), (r) => {
      newCode = { email: r.invite.email, code: r.invite.code };
      form.reset();
      return people.reload();
    });
  };
  const accept = (event) => {
    const f = fields(event);
    act(app, () => api("POST", "/api/workspaces/current/invites/accept", { inviteCode: f.code.trim() }), async () => {
      app.notify("Invite accepted: switch to the workspace below.", "ok");
      await workspaces.reload();
    });
  };
  const setRole = (member) => (event) =>
    act(app, () => api("POST", path("/api/workspaces/current/members/{u}/role", member.user.id), { role: event.target.value }),
      () => people.reload());
  const setPlan = (event) =>
    act(app, () => api("POST", "/api/workspaces/current/plan", { plan: event.target.value }), refreshMe);
  const switchTo = (ws) =>
    act(app, () => api("POST", "/api/auth/switch-workspace", { workspaceId: ws.id }), async () => {
      await refreshMe();
      await Promise.all([people.reload(), workspaces.reload()]);
    });

  const memberRow = (m) => {
    const owner = m.role === "owner";
    const editable = can(app, "admin") && !owner && m.user.id !== app.me.user.id;
    return html`<tr>
      <td data-label="Name">${m.user.name}</td>
      <td data-label="Email">${m.user.email}</td>
      <td data-label="Role">${editable
        ? html`<label class="visually-hidden" for=${`role-${m.user.id}`}>Role of ${m.user.email}</label>
            <select id=${`role-${m.user.id}`} @change=${setRole(m)}>
              ${ROLES.map((r) => html`<option value=${r} ?selected=${r === m.role}>${r}</option>`)}
            </select>`
        : m.role}</td>
      <td data-label="Since">${when_(m.createdAt)}</td>
      <td data-label="">${memberExtras.member(app, m, people.reload)}</td>
    </tr>`;
  };
  const ws = app.me.workspace;
  return {
    title: "Workspace",
    view: () => html`<h1 tabindex="-1">Workspace ${app.me.workspace.name}</h1>
      <p>Your role: ${app.me.workspace.role} · ${app.me.workspace.memberCount} member(s)</p>
      <section><h2>Plan</h2>
        ${can(app, "admin")
          ? html`<label>Plan <select @change=${setPlan}>
              ${PLANS.map((p) => html`<option value=${p} ?selected=${p === app.me.workspace.plan}>${p}</option>`)}
            </select></label>`
          : html`<p>${ws.plan}</p>`}
        <p><small>Up to ${app.me.workspace.limits.maxTemplates} templates and
          ${app.me.workspace.limits.maxRunningSessions} running sessions.</small></p>
      </section>
      <section><h2>Members</h2>
        ${when(people, (r) => html`<table class="cards">
          <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th>
            <th scope="col">Since</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>${list(r.members, "No members.", memberRow)}</tbody></table>
          <h3>Pending invites</h3>
          <ul class="plain">${list(r.invites, "No pending invites.", (i) => html`<li>${i.email} as ${i.role}
            <small>expires ${when_(i.expiresAt)}</small> ${memberExtras.invite(app, i, people.reload)}</li>`)}</ul>`)}
        ${can(app, "admin")
          ? html`<form class="inline" @submit=${invite} aria-label="Invite someone">
              <label>Email <input name="email" type="email" required></label>
              <label>Role <select name="role">${ROLES.map((r) => html`<option value=${r} ?selected=${r === "member"}>${r}</option>`)}</select></label>
              <button type="submit" class="primary" ?disabled=${app.busy}>Invite</button>
            </form>`
          : nothing}
        ${newCode
          ? html`<p class="notice notice-ok" role="status">Invite code for ${newCode.email} (shown only now):
              <code class="secret">${newCode.code}</code></p>`
          : nothing}
      </section>
      <section><h2>Your workspaces</h2>
        ${when(workspaces, (all) => html`<ul class="plain">${list(all, "None.", (w) => html`<li>${w.name}
          <small>${w.role} · ${w.plan}</small>
          ${w.id === app.me.workspace.id
            ? html`<strong>(current)</strong>`
            : html`<button type="button" @click=${() => switchTo(w)}>Switch</button>`}</li>`)}</ul>`)}
        ${memberExtras.leave(app)}
        <form class="inline" @submit=${accept} aria-label="Accept an invite">
          <label>Invite code <input name="code" required autocomplete="off"></label>
          <button type="submit">Accept invite</button>
        </form>
      </section>`,
  };
}
