//! The contract suite against every storage adapter: `cargo test -p burstflare-tests --test contract`.

burstflare_tests::contract_suite!(memory: Memory, sqlite: Sqlite);
