//! Runs the HTTP suite against `BURSTFLARE_TEST_URL` if set, else against a fresh native server
//! per scenario, once over SQLite (in a temp folder) and once over memory.

use burstflare_tests::http::scenarios::{auth, authz, device, input, workspaces};
use burstflare_tests::http::server::Target;
use burstflare_tests::http::Api;

macro_rules! http_suite {
    ($($name:ident => $scenario:path),+ $(,)?) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let target = Target::from_env().await;
                    $scenario(&Api::new(&target.url)).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    if std::env::var_os("BURSTFLARE_TEST_URL").is_some() {
                        return; // an external target is covered by the sqlite variant
                    }
                    let target = Target::native_memory().await;
                    $scenario(&Api::new(&target.url)).await;
                }
            }
        )+
    };
}

http_suite! {
    health => auth::health_reports_the_deployment,
    register_login_me => auth::register_login_and_me,
    registration_validation => auth::registration_validates_input,
    refresh_rotation_and_reuse => auth::refresh_rotates_and_reuse_revokes_the_family,
    token_kinds => auth::token_kinds_are_enforced,
    logout => auth::logout_revokes_access_and_refresh,
    cookies_and_csrf => auth::browser_sessions_use_cookies_and_csrf,
    rate_limits => auth::rate_limits_count_per_client_ip,
    device_flow => device::device_flow_issues_tokens_once,
    device_denied_and_unknown => device::denied_and_unknown_codes,
    device_page => device::device_page_escapes_the_code,
    invite_accept_switch => workspaces::invite_accept_switch,
    roles_and_plans => workspaces::roles_and_plans,
    invite_refusals => workspaces::invites_are_refused_cleanly,
    malformed_bodies => input::malformed_bodies_are_4xx_and_change_nothing,
    unknown_routes => input::unknown_routes_and_methods_are_json,
    authorisation_table => authz::every_route_has_an_authorisation_entry,
}
