//! Runs the HTTP suite against a fresh native server per scenario, once over SQLite (in a temp
//! folder) and once over memory. `http_target.rs` runs the same list against any deployment.

use burstflare_tests::http::scenarios::{
    auth, authz, browser, departures, device, input, large_snapshots, sessions, snapshots, templates, workspaces,
};
use burstflare_tests::http::server::Target;
use burstflare_tests::http::Api;

macro_rules! http_suite {
    ($($name:ident => $scenario:path),+ $(,)?) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let target = Target::native().await;
                    $scenario(&Api::new(&target.url)).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    let target = Target::native_memory().await;
                    $scenario(&Api::new(&target.url)).await;
                }
            }
        )+
    };
}

include!("http_scenarios.in");
