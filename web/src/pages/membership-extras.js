// Removing a member, revoking an invite and leaving a workspace. The API has no routes for these
// yet, so nothing is offered: each function renders nothing until its route exists, and the
// workspace page needs no change when they are filled in.
import { nothing } from "lit-html";

export const memberExtras = {
  /** Controls beside one member (e.g. "Remove"). */
  member: (_app, _member, _reload) => nothing,
  /** Controls beside one pending invite (e.g. "Revoke"). */
  invite: (_app, _invite, _reload) => nothing,
  /** "Leave this workspace". */
  leave: (_app) => nothing,
};
