//! Runs the HTTP suite against the deployment at `BURSTFLARE_TEST_URL` (e.g. the Worker under
//! workerd, see `scripts/test-worker`). Built only with `--features external-target`.

use burstflare_tests::http::scenarios::{
    auth, authz, browser, departures, device, input, large_snapshots, sessions, snapshots, templates, workspaces,
};
use burstflare_tests::http::Api;

fn target_url() -> String {
    std::env::var("BURSTFLARE_TEST_URL").expect("set BURSTFLARE_TEST_URL to the deployment under test")
}

macro_rules! http_suite {
    ($($name:ident => $scenario:path),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $scenario(&Api::new(&target_url())).await;
            }
        )+
    };
}

include!("http_scenarios.in");
