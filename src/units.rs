//! Quantities for people: one formatter per unit, used by the console, the CLI's tables and the
//! messages alike, so a size or a duration reads the same wherever it appears.

use std::time::Duration;

/// Bytes in binary units: `0 B`, `1023 B`, `1.0 KiB`, `36.0 KiB`, `16.0 GiB`, `100 MiB`.
///
/// Below 1024 the exact count; above, one decimal while the figure is under 100 of its unit and
/// none from 100 up, moving to the next unit once the figure would read 1024 or more (so
/// 1,048,575 bytes is `1.0 MiB`, not `1024 KiB`). A negative count (a shrinking size) keeps
/// its sign. Takes any of `u64` and `i64` (etcd reports sizes as `i64`).
pub fn bytes(n: impl Into<i128>) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let n: i128 = n.into();
    let magnitude = n.unsigned_abs();
    if magnitude < 1024 {
        return format!("{n} B");
    }
    let sign = if n < 0 { "-" } else { "" };
    let mut value = magnitude as f64;
    let mut unit = 0;
    loop {
        value /= 1024.0;
        // 1023.5 and up rounds to 1024 in whole units: say it in the next unit instead.
        if value < 1023.5 || unit == UNITS.len() - 1 {
            break;
        }
        unit += 1;
    }
    // 99.95 and up would print as 100.0: from there, whole units.
    if value < 99.95 {
        format!("{sign}{value:.1} {}", UNITS[unit])
    } else {
        format!("{sign}{value:.0} {}", UNITS[unit])
    }
}

/// A duration in its largest sensible units, truncated: `850ms`, `12s`, `3m05s`, `2h10m`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s == 0 {
        format!("{}ms", d.as_millis())
    } else if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// Bytes in a narrow column: `36.0K`, `1.5M`, `16.0G`, `512B` (the unit's first letter, no space).
pub fn bytes_short(n: impl Into<i128>) -> String {
    let long = bytes(n);
    match long.split_once(' ') {
        Some((num, unit)) => format!("{num}{}", &unit[..1]),
        None => long,
    }
}

/// A call's latency: `1.2ms`, `35ms`, `1.20s`.
pub fn latency(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1}ms")
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_below_one_kib_are_exact() {
        assert_eq!(bytes(0u64), "0 B");
        assert_eq!(bytes(1u64), "1 B");
        assert_eq!(bytes(512i64), "512 B");
        assert_eq!(bytes(1023u64), "1023 B");
    }

    #[test]
    fn bytes_one_decimal_below_100_of_a_unit() {
        assert_eq!(bytes(1024u64), "1.0 KiB");
        assert_eq!(bytes(1536u64), "1.5 KiB");
        assert_eq!(bytes(20_480i64), "20.0 KiB");
        assert_eq!(bytes(36_864u64), "36.0 KiB");
        assert_eq!(bytes(1_572_864u64), "1.5 MiB");
        assert_eq!(bytes(1_610_612_736u64), "1.5 GiB");
        assert_eq!(bytes(3u64 << 30), "3.0 GiB");
        assert_eq!(bytes(17_179_869_184i64), "16.0 GiB");
        // 99.949 KiB, then 99.950 KiB which would print as 100.0.
        assert_eq!(bytes(102_348u64), "99.9 KiB");
        assert_eq!(bytes(102_349u64), "100 KiB");
    }

    #[test]
    fn bytes_whole_from_100_of_a_unit() {
        assert_eq!(bytes(100u64 << 10), "100 KiB");
        assert_eq!(bytes(100u64 << 20), "100 MiB");
        assert_eq!(bytes(1000u64 << 20), "1000 MiB");
        assert_eq!(bytes(1023u64 << 20), "1023 MiB");
    }

    #[test]
    fn bytes_move_up_rather_than_read_1024() {
        assert_eq!(bytes(1_048_575u64), "1.0 MiB");
        assert_eq!(bytes(1_048_576u64), "1.0 MiB");
        // 1023.4 KiB stays, 1023.5 KiB would round to 1024 KiB.
        assert_eq!(bytes(1_048_063u64), "1023 KiB");
        assert_eq!(bytes(1_048_064u64), "1.0 MiB");
        assert_eq!(bytes((1u64 << 30) - 1), "1.0 GiB");
    }

    #[test]
    fn bytes_huge_and_negative() {
        assert_eq!(bytes(1u64 << 40), "1.0 TiB");
        assert_eq!(bytes(1u64 << 50), "1.0 PiB");
        assert_eq!(bytes(1u64 << 60), "1.0 EiB");
        assert_eq!(bytes(u64::MAX), "16.0 EiB");
        assert_eq!(bytes(i64::MAX), "8.0 EiB");
        assert_eq!(bytes(i64::MIN), "-8.0 EiB");
        assert_eq!(bytes(-1i64), "-1 B");
        assert_eq!(bytes(-1023i64), "-1023 B");
        assert_eq!(bytes(-1536i64), "-1.5 KiB");
        assert_eq!(bytes(-(100i64 << 20)), "-100 MiB");
    }

    #[test]
    fn durations_in_their_largest_units() {
        assert_eq!(duration(Duration::ZERO), "0ms");
        assert_eq!(duration(Duration::from_micros(999)), "0ms");
        assert_eq!(duration(Duration::from_millis(850)), "850ms");
        assert_eq!(duration(Duration::from_millis(999)), "999ms");
        assert_eq!(duration(Duration::from_secs(1)), "1s");
        assert_eq!(duration(Duration::from_millis(59_999)), "59s");
        assert_eq!(duration(Duration::from_secs(60)), "1m00s");
        assert_eq!(duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(duration(Duration::from_secs(3599)), "59m59s");
        assert_eq!(duration(Duration::from_secs(3600)), "1h00m");
        assert_eq!(duration(Duration::from_secs(7800)), "2h10m");
        assert_eq!(duration(Duration::from_secs(100 * 3600 + 59)), "100h00m");
        assert_eq!(duration(Duration::MAX), "5124095576030431h00m");
    }

    #[test]
    fn short_bytes_and_latencies_fit_narrow_columns() {
        assert_eq!(bytes_short(512i64), "512B");
        assert_eq!(bytes_short(36 * 1024i64), "36.0K");
        assert_eq!(bytes_short(16i64 << 30), "16.0G");
        assert_eq!(latency(Duration::from_micros(1234)), "1.2ms");
        assert_eq!(latency(Duration::from_millis(35)), "35ms");
        assert_eq!(latency(Duration::from_millis(1200)), "1.20s");
    }
}
