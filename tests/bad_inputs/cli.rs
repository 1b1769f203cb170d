//! The `train` program with bad command lines: each must exit with status 1 and the message
//! of its error kind (2 and clap's message for arguments clap refuses), never a panic or an
//! abort, and fail before training when the problem is known before training.

use super::{MEMORY_LIMIT, Sweep};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn train(args: &[&str], memory_limit: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_train"));
    cmd.args(args).env_remove("FERRITE_DEVICE").env("FERRITE_MEMORY_LIMIT", memory_limit);
    if !args.contains(&"--device") {
        cmd.args(["--device", "cpu"]);
    }
    cmd.output().expect("train runs")
}

/// Status `code`, stderr containing every one of `needles`, no panic, and no training if
/// `before_training`.
fn expect_exit(s: &mut Sweep, args: &[&str], code: i32, needles: &[&str], before_training: bool) {
    expect_exit_within(s, MEMORY_LIMIT, args, code, needles, before_training);
}

/// [`expect_exit`] with `FERRITE_MEMORY_LIMIT=memory_limit`.
fn expect_exit_within(
    s: &mut Sweep,
    memory_limit: &str,
    args: &[&str],
    code: i32,
    needles: &[&str],
    before_training: bool,
) {
    let limit =
        if memory_limit == MEMORY_LIMIT { String::new() } else { format!("FERRITE_MEMORY_LIMIT={memory_limit} ") };
    let case = format!("{limit}train {}", args.join(" "));
    s.check(&case, || {
        let out = train(args, memory_limit);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let bad = out.status.code() != Some(code)
            || stderr.contains("panicked")
            || needles.iter().any(|n| !stderr.contains(n))
            || (before_training && stdout.contains("Epoch"));
        if bad { Err(format!("{}:\n{stdout}\n{stderr}", out.status)) } else { Ok(()) }
    });
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

pub fn sweep(s: &mut Sweep) {
    let dir = std::env::temp_dir().join(format!("ferrite-sweep-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let oom = "error: out of memory: cpu cannot allocate";
    expect_exit(s, &["--hidden", "60000000"], 1, &[oom], true);
    // A label column holding an id: millions of classes, and a message that says so.
    let ids = write(&dir, "ids.csv", b"a,label\n0.5,16777215\n0.25,0\n0.75,1\n");
    let ids = ids.to_str().unwrap();
    expect_exit(s, &["--train", ids], 1, &[oom, "16777216 classes", "largest label, 16777215 (data row 1)"], true);
    // compile checks parameters, gradients and optimizer state together: here each buffer
    // (8M parameters, 32 MB) fits the 100M limit, but the four that Adam needs do not. Without
    // that check every allocation succeeds on its own and the model trains in more than the
    // limit (issue 16, item 1: Dense(60M) on 64 inputs).
    let two = write(&dir, "two.csv", b"a,label\n0.5,0\n0.25,1\n");
    let two = two.to_str().unwrap();
    let adam = ["--train", two, "--hidden", "2000000", "--optimizer", "adam", "--epochs", "1"];
    expect_exit_within(s, "100M", &adam, 1, &[oom], true);
    let one = write(&dir, "one.csv", b"a,label\n0.5,0\n0.25,0\n");
    expect_exit(s, &["--train", one.to_str().unwrap()], 1, &["error: classification needs at least 2 classes"], true);

    expect_exit(s, &["--hidden", "0"], 1, &["error: layer 0 has 64 inputs and 0 units"], true);
    expect_exit(s, &["--optimizer", "rmsprop"], 1, &["error: unknown optimizer \"rmsprop\""], true);
    expect_exit(s, &["--train", "/no/such/file.csv"], 1, &["error: /no/such/file.csv: No such file"], true);
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), 'shape': (1,), }";
    let x = write(&dir, "x.npy", &crate::seeds::npy_with_header(header, &1f32.to_le_bytes()));
    let y = write(&dir, "y.npy", &crate::seeds::npy("|u1", false, "(1,)", &[0]));
    let pair = format!("{},{}", x.display(), y.display());
    expect_exit(
        s,
        &["--train", &pair],
        1,
        &["x.npy: array 'x', header: the header gives 'shape' more than once"],
        true,
    );

    let config = "error: ";
    expect_exit(s, &["--scale", "nan"], 1, &[config, "factor NaN"], true);
    let png = dir.join("p.png");
    expect_exit(s, &["--scale", "nan", "--plot", png.to_str().unwrap()], 1, &["factor NaN"], true);
    expect_exit(s, &["--lr", "-1"], 1, &["learning_rate = -1 is out of range"], true);
    expect_exit(
        s,
        &["--lr", "1e30", "--epochs", "2", "--verbose", "0"],
        1,
        &["error: fit stopped: the loss is"],
        false,
    );
    expect_exit(s, &["--validation-split", "-0.5", "--epochs", "1"], 1, &["validation_split -0.5"], true);
    expect_exit(s, &["--batch-size", "0"], 1, &["batch_size must be at least 1"], true);
    expect_exit(s, &["--device", "emulated:sm_4294967295"], 1, &["error: unknown device"], true);
    expect_exit(s, &["--epochs", "-1"], 2, &["error: unexpected argument '-1'"], true);

    // Output paths are checked before training.
    let nowhere = "/nonexistent-ferrite-dir/w.safetensors";
    expect_exit(
        s,
        &["--epochs", "1000", "--save", nowhere],
        1,
        &["error: /nonexistent-ferrite-dir/w.safetensors"],
        true,
    );
    let d = dir.to_str().unwrap();
    expect_exit(s, &["--epochs", "1000", "--plot", d], 1, &[&format!("error: {d}: is a directory")], true);
    let locked = write(&dir, "locked.safetensors", b"old");
    let mut perms = std::fs::metadata(&locked).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&locked, perms).unwrap();
    expect_exit(s, &["--epochs", "1000", "--save", locked.to_str().unwrap()], 1, &["write-protected"], true);
    let corrupt = write(&dir, "corrupt.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ");
    expect_exit(
        s,
        &["--epochs", "1", "--load", corrupt.to_str().unwrap()],
        1,
        &["corrupt.safetensors: tensor dense.weight"],
        true,
    );

    // `train | head`: the pipe closes after one line.
    s.check("train | head -1", || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_train"))
            .args(["--device", "cpu", "--epochs", "20", "--verbose", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut first = [0u8; 1];
        child.stdout.take().unwrap().read_exact(&mut first).map_err(|e| e.to_string())?; // dropped: closed
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).map_err(|e| e.to_string())?;
        let status = child.wait().map_err(|e| e.to_string())?;
        if status.code() == Some(141) && !stderr.contains("panicked") {
            Ok(())
        } else {
            Err(format!("{status}: {stderr}"))
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
