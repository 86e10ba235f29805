//! Benchmark knobs from the environment.

/// A numeric knob (`BENCH_PARTNER_MS`, `BENCH_SECONDS`, …), or `default` when unset.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
