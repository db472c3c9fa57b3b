//! `burstflare-agent`: reads its configuration (the `BURSTFLARE_AGENT_CONFIG` environment variable,
//! else standard input) and runs the session agent until it is stopped.

fn main() -> std::process::ExitCode {
    burstflare_containers::entry::main()
}
