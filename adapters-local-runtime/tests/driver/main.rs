//! End-to-end tests of the local runtime driver with the real session agent. This binary has its
//! own `main` (no libtest harness) because it is also the agent: the driver starts it again with
//! `agent` (or `hang`/`crash`, agents that never answer or die at once) as its first argument.

mod scenarios;
mod support;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("agent") => return support::agent_main(),
        Some("hang") => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
        Some("crash") => {
            eprintln!("agent: boom, the configuration cannot be used");
            return ExitCode::from(3);
        }
        _ => {}
    }
    let filters = name_filters(&args);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (mut passed, mut failed) = (0, Vec::new());
    for (name, mode, test) in scenarios::ALL {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let world = Arc::new(support::World::new(*mode));
        let outcome = runtime.block_on(async {
            let outcome = tokio::spawn(test(world.clone())).await;
            // Whatever the outcome, a fresh driver adopts and stops what the scenario left.
            world.clean_up().await;
            let left = world.wait_no_processes().await;
            outcome.map_err(|e| e.to_string()).and_then(|()| match left.is_empty() {
                true => Ok(()),
                false => Err(format!("processes left behind: {left:?}")),
            })
        });
        match outcome {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(why) => {
                println!("test {name} ... FAILED ({why})");
                failed.push(*name);
            }
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("failures: {failed:?}");
        ExitCode::FAILURE
    }
}

/// The name filters among libtest-style arguments (flags, and the values of the flags that
/// take one, are not filters).
fn name_filters(args: &[String]) -> Vec<&String> {
    const TAKES_VALUE: &[&str] = &["--test-threads", "--skip", "--format", "--color", "--logfile", "-Z"];
    let mut filters = Vec::new();
    let mut skip_next = false;
    for arg in args {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        if arg.starts_with('-') {
            skip_next = TAKES_VALUE.contains(&arg.as_str());
        } else {
            filters.push(arg);
        }
    }
    filters
}
