// Device approval: the code `burstflare auth device` shows, approved (or denied) by the signed-in
// person; the CLI then signs in as them, in their current workspace.
import { html } from "lit-html";
import { api } from "../api.js";
import { act } from "../ui.js";

export function devicePage(app) {
  const prefill = new URLSearchParams(location.search).get("user_code") || "";
  let result = null;
  const decide = (event) => {
    event.preventDefault();
    const approve = event.submitter?.value !== "deny";
    const userCode = new FormData(event.target).get("code").trim().toUpperCase();
    act(
      app,
      () => api("POST", "/api/cli/device/approve", { userCode, approve }),
      () => {
        result = approve ? "Approved. You can return to your terminal." : "Denied.";
      },
    );
  };
  return {
    title: "Approve a device",
    view: () => html`<section class="narrow">
      <h1 tabindex="-1">Approve a CLI sign-in</h1>
      <p>Check that this code matches the one your terminal shows, then approve it. The CLI signs in
        as ${app.me.user.email}, in the workspace ${app.me.workspace.name}.</p>
      <form @submit=${decide} class="stack">
        <label>Code <input name="code" class="code" .value=${prefill} autocomplete="off"
          autocapitalize="characters" required placeholder="WXYZ-BCDF"></label>
        <div class="row">
          <button type="submit" class="primary" value="approve" ?disabled=${app.busy}>Approve</button>
          <button type="submit" value="deny" ?disabled=${app.busy}>Deny</button>
        </div>
      </form>
      ${result ? html`<p class="state ok" role="status" id="device-result">${result}</p>` : ""}
    </section>`,
  };
}
