//! The loader fuzzers' smoke run, in every `cargo test`: each target of `tests/fuzz/` (CSV,
//! a `.npy` pair, `.npz`, IDX raw and gzipped, safetensors weights) gets its seeds and a fixed
//! number of seeded mutations of them, each loaded under `catch_unwind`; a panic fails the
//! run (an abort or a hang fails it too, the hard way) and names the input, in hex, to
//! replay. The same targets run for long under cargo-fuzz (`docs/reliability.md`).
//!
//! The seeds are small valid files, generated here; `tests/fuzz/seeds/<target>/` holds the
//! same files for cargo-fuzz (`FERRITE_WRITE_SEEDS=1 cargo test --test fuzz_smoke` rewrites
//! them, and a test checks they match).

#[path = "fuzz/seeds.rs"]
mod seeds;

use ferrite::fuzzing;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// Mutated inputs per target and run: about a second each in a test build.
const INPUTS: usize = 50_000;
/// One input taking longer than this is a hang.
const SLOW: Duration = Duration::from_secs(5);

type Target = fn(&[u8]) -> bool;

const TARGETS: [(&str, Target); 6] = [
    ("csv", |b| fuzzing::csv(b).is_ok()),
    ("npy", |b| fuzzing::npy_pair(b).is_ok()),
    ("npz", |b| fuzzing::npz(b).is_ok()),
    ("idx", |b| fuzzing::idx(b).is_ok()),
    ("idx_gz", |b| fuzzing::idx(b).is_ok()),
    ("weights", |b| fuzzing::weights(b).is_ok()),
];

/// Values that tend to sit on boundaries: lengths, counts, signs, NaN's bytes.
const INTERESTING: [&[u8]; 12] = [
    b"\x00",
    b"\xff",
    b"\x7f",
    b"\x80",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x80",
    b"\xff\xff\xff\x7f",
    b"\x00\x00\xc0\x7f",
    b"-1",
    b"nan",
    b"99999999999999999999",
    b"1e39",
];

/// One to four random edits of `input`, some splicing in bytes from `other`.
fn mutate(rng: &mut ChaCha8Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..=v.len());
        let span = rng.random_range(0..=(v.len() - at).min(16));
        match rng.random_range(0..7) {
            0 if at < v.len() => v[at] ^= 1 << rng.random_range(0..8),
            1 if at < v.len() => v[at] = rng.random(),
            2 => drop(v.splice(at..at, (0..rng.random_range(1..8)).map(|_| rng.random::<u8>()))),
            3 => drop(v.drain(at..at + span)),
            4 => drop(
                v.splice(at..at + span.min(4), INTERESTING[rng.random_range(0..INTERESTING.len())].iter().copied()),
            ),
            5 if !other.is_empty() => {
                let from = rng.random_range(0..other.len());
                let take = rng.random_range(1..=(other.len() - from).min(64));
                drop(v.splice(at..at + span, other[from..from + take].iter().copied()));
            }
            _ => v.truncate(at),
        }
    }
    v
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_loader_survives_mutated_inputs() {
    let mut failures = Vec::new();
    for (name, load) in TARGETS {
        let seeds = seeds::generate(name);
        for (i, seed) in seeds.iter().enumerate() {
            assert!(load(seed), "{name} seed {i} does not load: the seeds must be valid files");
        }
        let mut rng = ChaCha8Rng::seed_from_u64(0x5eed ^ name.len() as u64 ^ (name.as_bytes()[0] as u64) << 8);
        let (started, mut loaded) = (Instant::now(), 0);
        for _ in 0..INPUTS {
            let (a, b) = (&seeds[rng.random_range(0..seeds.len())], &seeds[rng.random_range(0..seeds.len())]);
            let input = mutate(&mut rng, a, b);
            let t = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| load(&input)));
            loaded += matches!(outcome, Ok(true)) as usize;
            if outcome.is_err() || t.elapsed() > SLOW {
                let what = if outcome.is_err() { "panicked" } else { "took over 5 s" };
                failures.push(format!("{name} {what} on {}", hex(&input)));
            }
        }
        eprintln!("{name}: {INPUTS} inputs ({loaded} loaded) in {:.1} s", started.elapsed().as_secs_f64());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_cargo_fuzz_seeds_are_the_generated_ones() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/seeds");
    let write = std::env::var_os("FERRITE_WRITE_SEEDS").is_some();
    for (name, _) in TARGETS {
        let dir = root.join(name);
        for (i, seed) in seeds::generate(name).iter().enumerate() {
            let path = dir.join(format!("seed-{i}"));
            if write {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, seed).unwrap();
            }
            let stored = std::fs::read(&path).unwrap_or_default();
            assert!(
                &stored == seed,
                "{} differs from its generator: FERRITE_WRITE_SEEDS=1 rewrites it",
                path.display()
            );
        }
    }
}
