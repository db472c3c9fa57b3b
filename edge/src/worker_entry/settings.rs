//! The Worker's settings from its `[vars]` (pure, so it is tested on every target): the
//! largest snapshot, `SNAPSHOT_LIMIT_MIB` (the native server's `--snapshot-limit-mib`), 512 MiB
//! when unset.

use burstflare_core::Config;

/// The variable naming the largest snapshot, in MiB.
pub(super) const SNAPSHOT_LIMIT_MIB: &str = "SNAPSHOT_LIMIT_MIB";

/// The use cases' configuration given the `SNAPSHOT_LIMIT_MIB` variable's value, if set; a
/// value that is not a whole number of MiB above zero is refused with a message naming it.
pub(super) fn config(snapshot_limit_mib: Option<&str>) -> Result<Config, String> {
    let mut config = Config::default();
    if let Some(value) = snapshot_limit_mib {
        let bytes = value
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&mib| mib > 0)
            .and_then(|mib| mib.checked_mul(1 << 20))
            .ok_or_else(|| format!("{SNAPSHOT_LIMIT_MIB} must be a whole number of MiB above 0, not {value:?}"))?;
        config.snapshot_limit_bytes = bytes;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_limit_is_read_in_mib() {
        assert_eq!(config(None).unwrap().snapshot_limit_bytes, Config::default().snapshot_limit_bytes);
        assert_eq!(config(Some("64")).unwrap().snapshot_limit_bytes, 64 << 20);
        assert_eq!(config(Some(" 2048 ")).unwrap().snapshot_limit_bytes, 2048 << 20);
        for bad in ["0", "-1", "1.5", "lots", "", "18446744073709551615"] {
            let error = config(Some(bad)).unwrap_err();
            assert!(error.contains(SNAPSHOT_LIMIT_MIB), "{bad:?}: {error}");
        }
    }
}
