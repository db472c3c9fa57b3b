// Removing a member, revoking an invite and leaving the workspace (admins remove and revoke;
// anyone but the owner leaves). Each asks first; the API checks the role and audits the change.
import { html, nothing } from "lit-html";
import { api, path } from "../api.js";
import { act, can } from "../ui.js";

export const memberExtras = {
  /** "Remove" beside a member other than the owner and oneself. */
  member(app, member, reload) {
    if (!can(app, "admin") || member.role === "owner" || member.userId === app.me.user.id) return nothing;
    const remove = () => {
      if (!confirm(`Remove ${member.user.email} from this workspace?`)) return;
      act(app, () => api("DELETE", path("/api/workspaces/current/members/{u}", member.userId)), reload);
    };
    return html`<button type="button" class="danger" @click=${remove}>Remove</button>`;
  },
  /** "Revoke" beside a pending invite. */
  invite(app, invite, reload) {
    if (!can(app, "admin")) return nothing;
    const revoke = () =>
      act(app, () => api("DELETE", path("/api/workspaces/current/invites/{i}", invite.id)), reload);
    return html`<button type="button" class="danger" @click=${revoke}>Revoke</button>`;
  },
  /** "Leave this workspace" (the owner cannot leave their own). */
  leave(app) {
    if (app.me.workspace.role === "owner") return nothing;
    const leave = () => {
      if (!confirm(`Leave ${app.me.workspace.name}? You will need a new invite to come back.`)) return;
      act(app, () => api("POST", "/api/workspaces/current/leave"), async () => {
        app.me = await api("GET", "/api/auth/me");
        app.navigate("/");
      });
    };
    return html`<p><button type="button" class="danger" @click=${leave}>Leave this workspace</button></p>`;
  },
};
