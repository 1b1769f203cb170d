//! `docs/memory-access.md`: the interpreter's memory-access statistics per kernel, the kernels
//! below 90 % coalescing or with bank conflicts and their worst instructions, the op families'
//! entries in a compact table per family, and the opcodes of each variant.

use super::cases::Row;
use ptx_interp::AccessStats;
use std::collections::BTreeMap;
use std::fmt::Write;

fn bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 { 100.0 } else { 100.0 * part as f64 / whole as f64 }
}

fn conflicts(s: &AccessStats) -> f64 {
    if s.requests == 0 { 0.0 } else { (s.wavefronts - s.ideal_wavefronts) as f64 / s.requests as f64 }
}

/// `name` with its dtypes as `*` (`binary_strided_f16` → `binary_strided_*`): the entries of
/// a family that share code but for the element type.
fn pattern(name: &str) -> String {
    const TYPES: [&str; 13] = ["f64", "f32", "f16", "bf16", "i64", "i32", "u32", "u8", "bool", "b1", "b2", "b4", "b8"];
    name.split('_').map(|t| if TYPES.contains(&t) { "*" } else { t }).collect::<Vec<_>>().join("_")
}

/// The op families' entries, a table per family with a row per entry pattern (the entries
/// differing only in dtype, every PTX variant's code): their strided launches read sliced and
/// broadcast operands on purpose, so they are not flagged for coalescing.
fn families(o: &mut String, rows: &[Row]) {
    let mut names: Vec<&str> = Vec::new();
    for f in rows.iter().filter_map(|r| r.family) {
        if !names.contains(&f) {
            names.push(f);
        }
    }
    if names.is_empty() {
        return;
    }
    o.push_str(
        "\n## Op families\n\nThe entries of `kernels_gpu::ops`, each run once per op it takes (per mode for the \
         contiguous binary and comparison entries) on the inputs of `tests/ptx_interp/families.rs`, with the \
         launches named in that file. A row covers the entries of one pattern (`*`: every dtype it has) and every \
         distinct PTX body of each: **bodies** counts them, the request count is their total, the percentages and \
         ratios range over them (worst first), and **worst** names the body with the fewest coalesced requests. \
         Strided launches read reversed, sliced and broadcast operands on purpose, and contiguous ones include a \
         misaligned launch, so these are not flagged above.\n",
    );
    for family in names {
        let _ = write!(
            o,
            "\n### {family}\n\n| entries | bodies | global requests | coalesced | moved / minimum | shared conflicts | worst |\n\
             |---|---:|---:|---:|---:|---:|---|\n"
        );
        let mut patterns: Vec<String> = Vec::new();
        for r in rows.iter().filter(|r| r.family == Some(family)) {
            let p = pattern(r.kernel);
            if !patterns.contains(&p) {
                patterns.push(p);
            }
        }
        for p in patterns {
            let group: Vec<&Row> = rows.iter().filter(|r| r.family == Some(family) && pattern(r.kernel) == p).collect();
            let stats: Vec<(f64, f64, f64, u64)> = group
                .iter()
                .map(|r| {
                    let (g, s) = r.stats.totals();
                    let (read, written) = r.stats.unique_bytes();
                    let (min, moved) = (read + written, g.sectors * 32);
                    let ratio = if min == 0 { 0.0 } else { moved as f64 / min as f64 };
                    (pct(g.coalesced, g.requests), ratio, conflicts(&s), g.requests)
                })
                .collect();
            let range = |f: fn(&(f64, f64, f64, u64)) -> f64, worst_high: bool, unit: &str, digits: usize| {
                let (lo, hi) = stats.iter().map(f).fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
                let (first, last) = if worst_high { (hi, lo) } else { (lo, hi) };
                if format!("{first:.digits$}") == format!("{last:.digits$}") {
                    format!("{first:.digits$}{unit}")
                } else {
                    format!("{first:.digits$}–{last:.digits$}{unit}")
                }
            };
            let worst = stats
                .iter()
                .zip(&group)
                .min_by(|a, b| a.0.0.total_cmp(&b.0.0))
                .map(|(_, r)| format!("`{}` ({})", r.kernel, r.variants.join(", ")))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "| `{p}` | {} | {} | {} | {} | {} | {worst} |",
                group.len(),
                stats.iter().map(|s| s.3).sum::<u64>(),
                range(|s| s.0, false, " %", 1),
                range(|s| s.1, true, "", 2),
                range(|s| s.2, true, "", 2),
            );
        }
    }
    o.push('\n');
}

pub fn render(rows: &[Row], opcodes: &BTreeMap<&str, Vec<(&str, usize)>>) -> String {
    let mut o = String::new();
    o.push_str(
        "# Memory access per kernel\n\n\
         Generated by `tests/ptx_interp.rs` from the PTX interpreter's run of every kernel entry on one \
         representative launch (named per row, configured as the host launches it); the test fails when this \
         file is stale: regenerate it with `FERRITE_UPDATE_DOCS=1 cargo test --test ptx_interp`. No GPU is \
         involved: these are properties of the PTX, not measurements.\n\n\
         - **requests**: warp-level global loads and stores executed (the lanes of a warp that execute one \
         memory instruction together).\n\
         - **coalesced**: the share of requests whose 128-byte lines are the fewest their bytes could occupy \
         (a warp reading two 64-byte row pieces touches two lines where one would do: not coalesced, though \
         every sector it fetches is used); **sector use**: the requested bytes over the bytes of the 32-byte \
         sectors touched (100 % when no fetched byte is wasted).\n\
         - **moved**: bytes of the 32-byte sectors the requests touch, every request counted (the traffic \
         with no cache hits); **minimum**: the distinct bytes the launch reads and writes, which any \
         implementation must move.\n\
         - **shared conflicts**: extra wavefronts per shared-memory request, 32 banks of 4 bytes (0 is \
         conflict-free; 8-byte accesses are served as two half-warp phases, 16-byte ones as four quarter-warp \
         phases, lanes reading the same word share it). `wgmma` operand reads are not counted.\n\
         - **PTX**: the variants whose code for the entry is identical (statistics are per code).\n\n",
    );
    o.push_str(
        "| kernel | PTX | launch | global requests | coalesced | sector use | moved | minimum | moved / minimum | shared requests | shared conflicts |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut flagged = Vec::new();
    for r in rows.iter().filter(|r| r.family.is_none()) {
        let (g, s) = r.stats.totals();
        let (read, written) = r.stats.unique_bytes();
        let min = read + written;
        let moved = g.sectors * 32;
        let coalesced = pct(g.coalesced, g.requests);
        let conf = conflicts(&s);
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} | {:.1} % | {:.1} % | {} | {} | {:.2} | {} | {:.2} |",
            r.kernel,
            r.variants.join(", "),
            r.shape,
            g.requests,
            coalesced,
            pct(g.bytes, moved),
            bytes(moved),
            bytes(min),
            if min == 0 { 0.0 } else { moved as f64 / min as f64 },
            s.requests,
            conf
        );
        if coalesced < 90.0 || conf > 0.0 {
            flagged.push(r);
        }
    }
    o.push_str("\n## Kernels below 90 % coalescing or with shared-memory bank conflicts\n\n");
    if flagged.is_empty() {
        o.push_str("None.\n");
    }
    for r in flagged {
        let (g, s) = r.stats.totals();
        let _ = writeln!(
            o,
            "**`{}`** ({}): {:.1} % of global requests coalesced, {:.2} extra shared wavefronts per request.\n",
            r.kernel,
            r.variants.join(", "),
            pct(g.coalesced, g.requests),
            conflicts(&s)
        );
        let mut worst: Vec<_> = r.stats.global.iter().filter(|(_, a)| a.coalesced < a.requests).collect();
        worst.sort_by_key(|(pc, a)| (std::cmp::Reverse(a.requests - a.coalesced), **pc));
        for (pc, a) in worst.into_iter().take(3) {
            let (line, text) = &r.source[pc];
            let _ = writeln!(
                o,
                "- line {line} `{text}`: {:.1} % of {} requests coalesced, {:.1} lines per request where {:.1} would do",
                pct(a.coalesced, a.requests),
                a.requests,
                a.lines as f64 / a.requests as f64,
                a.min_lines as f64 / a.requests as f64
            );
        }
        let mut worst: Vec<_> = r.stats.shared.iter().filter(|(_, a)| a.wavefronts > a.ideal_wavefronts).collect();
        worst.sort_by_key(|(pc, a)| (std::cmp::Reverse(a.wavefronts - a.ideal_wavefronts), **pc));
        for (pc, a) in worst.into_iter().take(3) {
            let (line, text) = &r.source[pc];
            let _ = writeln!(
                o,
                "- line {line} `{text}`: {:.2} extra wavefronts per request ({} requests)",
                conflicts(a),
                a.requests
            );
        }
        o.push('\n');
    }
    families(&mut o, rows);
    let archs = ["sm_70", "sm_80", "sm_90a"];
    o.push_str(
        "## Opcodes\n\nEvery opcode (with its modifiers) in the embedded PTX and how often it occurs per variant; the \
         interpreter implements each (an unknown one fails the parse).\n\n| opcode | sm_70 | sm_80 | sm_90a |\n|---|---:|---:|---:|\n",
    );
    for (op, counts) in opcodes {
        let n = |a: &str| counts.iter().find(|(x, _)| *x == a).map_or("".to_string(), |(_, n)| n.to_string());
        let _ = writeln!(o, "| `{op}` | {} | {} | {} |", n(archs[0]), n(archs[1]), n(archs[2]));
    }
    o
}
