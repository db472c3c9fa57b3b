//! `burstflare workspace …` against a real server: invite, accept, switch, roles, plans,
//! listings, revoked invites, removals and leaving, with people each at their own terminal.

mod common;

use common::{TestServer, User};

/// The invite code from `workspace invite`'s human output.
fn invite_code(output: &str) -> String {
    let line = output.lines().find(|l| l.trim_start().starts_with("Invite code: ")).expect("an invite code line");
    line.trim().trim_start_matches("Invite code: ").to_string()
}

/// Ada owns a workspace; Bob has registered and joined it (as member) and switched to it.
fn ada_and_bob(server: &TestServer) -> (User, User) {
    let ada = User::new(server, "ada@example.com");
    ada.register();
    let bob = User::new(server, "bob@example.com");
    bob.register();
    let out = ada.ok(&["workspace", "invite", "Bob@Example.com"]);
    assert!(out.contains("shown only once"), "{out}");
    let code = invite_code(&out);
    let joined = bob.ok(&["workspace", "accept", &code]);
    assert!(joined.contains("as member") && joined.contains("workspace switch"), "{joined}");
    bob.ok(&["workspace", "switch", &ada.config_field("workspaceId")]);
    (ada, bob)
}

#[test]
fn invite_accept_switch_then_whoami_shows_the_new_workspace_and_role() {
    let server = TestServer::start();
    let (ada, bob) = ada_and_bob(&server);
    let ada_workspace = ada.config_field("workspaceId");
    assert_eq!(bob.config_field("workspaceId"), ada_workspace, "switch saved the new workspace");

    let me = bob.json(&["auth", "whoami"]);
    assert_eq!(me["user"]["email"], "bob@example.com");
    assert_eq!(me["workspace"]["id"], ada_workspace);
    assert_eq!(me["membership"]["role"], "member");
    let human = bob.ok(&["auth", "whoami"]);
    assert!(human.contains(&format!("Ada's Workspace ({ada_workspace})")), "{human}");
    assert!(human.lines().any(|l| l.starts_with("role") && l.ends_with("member")), "{human}");

    // Bob's list shows both workspaces and marks the current one.
    let list = bob.ok(&["workspace", "list"]);
    let current: Vec<&str> = list.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(current.len(), 1, "{list}");
    assert!(current[0].contains(&ada_workspace) && current[0].contains("member"), "{list}");
    let listed = bob.json(&["workspace", "list"]);
    assert_eq!(listed["workspaces"].as_array().map(Vec::len), Some(2));

    // Ada sees Bob among the members; the invite is no longer pending.
    let members = ada.json(&["workspace", "members"]);
    let emails: Vec<&str> =
        members["members"].as_array().unwrap().iter().filter_map(|m| m["user"]["email"].as_str()).collect();
    assert_eq!(emails.len(), 2, "{members}");
    assert!(emails.contains(&"bob@example.com"));
    assert_eq!(members["invites"].as_array().map(Vec::len), Some(0));
}

#[test]
fn a_used_invite_code_cannot_be_used_again() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let bob = User::new(&server, "bob@example.com");
    bob.register();
    let invite = ada.json(&["workspace", "invite", "bob@example.com", "--role", "viewer"]);
    assert_eq!(invite["invite"]["role"], "viewer");
    let code = invite["invite"]["code"].as_str().expect("the code is in the JSON too").to_string();
    let joined = bob.json(&["workspace", "accept", &code, "--switch"]);
    assert_eq!(joined["switched"]["workspace"]["id"], ada.config_field("workspaceId"));
    assert_eq!(bob.config_field("workspaceId"), ada.config_field("workspaceId"));
    let stderr = bob.fails(&["workspace", "accept", &code]);
    assert!(stderr.starts_with("error: "), "{stderr}");
}

#[test]
fn roles_and_plans_change_and_viewers_cannot_manage() {
    let server = TestServer::start();
    let (ada, bob) = ada_and_bob(&server);

    // By email or by id.
    let out = ada.ok(&["workspace", "role", "bob@example.com", "admin"]);
    assert_eq!(out, "bob@example.com is now admin in this workspace.\n");
    assert_eq!(bob.json(&["auth", "whoami"])["membership"]["role"], "admin");
    let bob_id = bob.json(&["auth", "whoami"])["user"]["id"].as_str().unwrap().to_string();
    let changed = ada.json(&["workspace", "role", &bob_id, "viewer"]);
    assert_eq!(changed["membership"]["role"], "viewer");
    assert_eq!(bob.json(&["auth", "whoami"])["membership"]["role"], "viewer");

    let stderr = bob.fails(&["workspace", "plan", "enterprise"]);
    assert!(stderr.starts_with("error: ") && stderr.contains('('), "{stderr}");

    let out = ada.ok(&["workspace", "plan", "pro"]);
    assert!(out.contains("now on the pro plan"), "{out}");
    assert_eq!(bob.json(&["auth", "whoami"])["workspace"]["plan"], "pro");
    let plan = ada.json(&["workspace", "plan", "enterprise"]);
    assert_eq!(plan["workspace"]["plan"], "enterprise");

    // Client-side checks: the owner role cannot be given, unknown members are reported.
    assert!(ada.fails(&["workspace", "role", &bob_id, "owner"]).contains("invalid value 'owner'"));
    assert!(ada.fails(&["workspace", "role", "nobody@example.com", "member"]).contains("(member_not_found)"));
}

#[test]
fn switching_to_a_foreign_workspace_is_refused() {
    let server = TestServer::start();
    let ada = User::new(&server, "ada@example.com");
    ada.register();
    let eve = User::new(&server, "eve@example.com");
    eve.register();
    let before = eve.config();
    let stderr = eve.fails(&["workspace", "switch", &ada.config_field("workspaceId")]);
    assert!(stderr.starts_with("error: ") && stderr.trim_end().ends_with(')'), "{stderr}");
    assert_eq!(eve.config(), before);
}

#[test]
fn members_are_removed_invites_revoked_and_members_leave() {
    let server = TestServer::start();
    let (ada, bob) = ada_and_bob(&server);
    let ada_workspace = ada.config_field("workspaceId");
    let carol = User::new(&server, "carol@example.com");
    carol.register();
    let carol_home = carol.config_field("workspaceId");
    let code = invite_code(&ada.ok(&["workspace", "invite", "carol@example.com", "--role", "viewer"]));
    carol.ok(&["workspace", "accept", &code, "--switch"]);

    // A pending invite shows its id, and is revoked by id or by email.
    let dan = ada.json(&["workspace", "invite", "dan@example.com"]);
    let dan_id = dan["invite"]["id"].as_str().unwrap().to_string();
    let members = ada.ok(&["workspace", "members"]);
    assert!(members.contains("INVITE ID") && members.contains(&dan_id), "{members}");
    let dan_code = dan["invite"]["code"].as_str().unwrap().to_string();
    let revoked = ada.json(&["workspace", "revoke-invite", &dan_id]);
    assert_eq!(revoked["invite"]["status"], "revoked");
    ada.ok(&["workspace", "invite", "erin@example.com"]);
    let out = ada.ok(&["workspace", "revoke-invite", "erin@example.com"]);
    assert!(out.starts_with("Revoked the invite for erin@example.com"), "{out}");
    assert_eq!(ada.json(&["workspace", "members"])["invites"], serde_json::json!([]));
    let dan_user = User::new(&server, "dan@example.com");
    dan_user.register();
    let stderr = dan_user.fails(&["workspace", "accept", &dan_code]);
    assert!(stderr.contains("(invite_revoked)"), "{stderr}");

    // A member cannot remove anyone; the owner removes Bob, whose sign-in there ends.
    let stderr = bob.fails(&["workspace", "remove-member", "carol@example.com"]);
    assert!(stderr.contains("(insufficient_permissions)"), "{stderr}");
    let out = ada.ok(&["workspace", "remove-member", "bob@example.com"]);
    assert_eq!(out, "Removed bob@example.com (member) from this workspace.\n");
    let stderr = bob.fails(&["workspace", "members"]);
    assert!(stderr.starts_with("error: "), "{stderr}");

    // Carol leaves and is signed in to her own workspace again; the owner cannot leave.
    let out = carol.ok(&["workspace", "leave"]);
    assert!(out.starts_with(&format!("Left workspace {ada_workspace}.\n")), "{out}");
    assert!(out.contains(&format!("({carol_home}) as owner")), "{out}");
    assert_eq!(carol.config_field("workspaceId"), carol_home);
    assert_eq!(carol.json(&["auth", "whoami"])["workspace"]["id"], carol_home);
    let stderr = ada.fails(&["workspace", "leave"]);
    assert!(stderr.contains("(last_owner)"), "{stderr}");
    let left = ada.json(&["workspace", "members"]);
    assert_eq!(left["members"].as_array().map(Vec::len), Some(1), "{left}");
}
