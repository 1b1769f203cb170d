//! Decompression bombs: an IDX `.gz` file and an `.npz` member whose headers claim a few
//! bytes but which inflate to 4 GiB. The loaders must read no further than the header's size
//! plus one byte, so `train`, limited to 1 GiB of address space, refuses both with an error
//! naming the excess instead of running out of memory.

use super::{idx, temp, write};
use flate2::{Compress, Compression, FlushCompress};
use std::path::Path;
use std::process::Command;

/// 4 GiB of zeros follow each bomb's honest header.
const BOMB_MIB: usize = 4096;

/// Runs `train` with its address space limited to 1 GiB.
fn train_in_1_gib(data: &Path) -> (Option<i32>, String) {
    let script = "ulimit -v 1048576 && exec \"$0\" \"$@\"";
    let out = Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_train"), "--device", "cpu", "--epochs", "1", "--train"])
        .arg(data)
        .env("MALLOC_ARENA_MAX", "2")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Raw deflate of `input`, flushed to a byte boundary (`Finish` ends the stream).
fn deflate(c: &mut Compress, mut input: &[u8], flush: FlushCompress) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        out.reserve(64 << 10);
        let before = c.total_in();
        c.compress_vec(input, &mut out, flush).unwrap();
        input = &input[(c.total_in() - before) as usize..];
        if input.is_empty() && out.len() < out.capacity() {
            return out;
        }
    }
}

/// `head` then `BOMB_MIB` MiB of zeros as one raw deflate stream: the block that encodes a
/// MiB of zeros after zeros is written once and repeated (4 MiB in all).
fn deflate_bomb(head: &[u8]) -> Vec<u8> {
    let mib = vec![0u8; 1 << 20];
    let mut c = Compress::new(Compression::fast(), false);
    let mut out = deflate(&mut c, &[head, &mib].concat(), FlushCompress::Sync);
    let repeat = deflate(&mut c, &mib, FlushCompress::Sync);
    (1..BOMB_MIB).for_each(|_| out.extend_from_slice(&repeat));
    out.extend(deflate(&mut c, &[], FlushCompress::Finish));
    out
}

#[test]
fn an_idx_gz_bomb_is_read_no_further_than_its_header() {
    // The header claims one 2x2 image; the gzip members after the first inflate to 4 GiB.
    let mut gz = super::gzip(&idx(0x803, &[1, 2, 2], &[1, 2, 3, 4]));
    let zeros = super::gzip(&vec![0u8; 1 << 20]);
    (0..BOMB_MIB).for_each(|_| gz.extend_from_slice(&zeros));
    let images = write("bomb-images-idx3-ubyte.gz", gz);
    write("bomb-labels-idx1-ubyte.gz", super::gzip(&idx(0x801, &[1], &[0])));
    let (code, stderr) = train_in_1_gib(&images);
    assert!(code == Some(1) && stderr.contains("bomb-images") && stderr.contains("found more"), "{code:?}: {stderr}");
}

/// A zip archive of (name, stored or deflated data, uncompressed size) entries, by hand: the
/// `zip` crate's writer would deflate the 4 GiB itself.
fn zip(entries: &[(&str, Vec<u8>, bool, u32)]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data, deflated, size) in entries {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let crc = if *deflated { 0 } else { crc.sum() }; // a bomb is never read to its checksum
        let fields = |out: &mut Vec<u8>| {
            out.extend(20u16.to_le_bytes()); // version needed
            out.extend(0u16.to_le_bytes()); // flags
            out.extend((if *deflated { 8u16 } else { 0 }).to_le_bytes());
            out.extend([0, 0, 0x21, 0]); // 1980-01-01 00:00
            out.extend(crc.to_le_bytes());
            out.extend((data.len() as u32).to_le_bytes());
            out.extend(size.to_le_bytes());
            out.extend((name.len() as u16).to_le_bytes());
            out.extend(0u16.to_le_bytes()); // extra field length
        };
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes()); // version made by
        fields(&mut central);
        central.extend([0; 10]); // comment length, disk, internal and external attributes
        central.extend((out.len() as u32).to_le_bytes());
        central.extend(name.as_bytes());
        out.extend(0x0403_4b50u32.to_le_bytes());
        fields(&mut out);
        out.extend(name.as_bytes());
        out.extend(data);
    }
    let (offset, n) = (out.len() as u32, entries.len() as u16);
    let len = central.len() as u32;
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0; 4]);
    out.extend(n.to_le_bytes());
    out.extend(n.to_le_bytes());
    out.extend(len.to_le_bytes());
    out.extend(offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

#[test]
fn an_npz_bomb_is_read_no_further_than_its_header() {
    // x.npy claims one float; its member inflates to 4 GiB.
    let x = super::npy(&[1.0f32], &[1, 1]);
    let y = super::npy(&[0u8], &[1]);
    let x_size = x.len() as u32;
    let archive = zip(&[("x.npy", deflate_bomb(&x), true, x_size), ("y.npy", y.clone(), false, y.len() as u32)]);
    let path = temp("bomb.npz");
    std::fs::write(&path, archive).unwrap();
    let (code, stderr) = train_in_1_gib(&path);
    assert!(code == Some(1) && stderr.contains("array 'x'") && stderr.contains("there are more"), "{code:?}: {stderr}");
}
