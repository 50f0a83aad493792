//! Landlock (Linux 5.13+): after this, the render process and everything it starts (pdftoppm,
//! ffmpeg) may read its one input file, write only into its output directory, and read and
//! execute only the system directories programs and their libraries and fonts live in. Home
//! directories, the data directory's other files, the configuration and /proc of other
//! processes are out of reach, even for a renderer taken over by a hostile file (SPEC §6).
//! Kernels without Landlock leave the process as it was; the other limits still apply.
//!
//! Through the `landlock` crate (the Landlock maintainers' own), in its default best-effort
//! mode: it asks the kernel which ABI it has and handles what both know, adjusts a file's
//! rights to those a file can have, and skips paths that cannot be opened. We ask for ABI 3
//! (every filesystem right up to `TRUNCATE`), the set this module handled when it made the
//! system calls itself.
use std::path::{Path, PathBuf};

use landlock::{
    path_beneath_rules, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetError,
    RulesetStatus, ABI,
};

/// The newest ABI whose filesystem rights we handle (see the module's comment).
const ABI_WANTED: ABI = ABI::V3;

/// Directories whose files may be read and executed: programs, libraries, their
/// configuration and fonts.
const SYSTEM_DIRS: [&str; 9] = [
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/etc",
    "/opt",
    "/var/cache/fontconfig",
];

/// Confines the current process (call it before starting threads). Best effort: returns
/// whether the kernel enforces it.
pub(crate) fn restrict(input: &Path, out_dir: &Path) -> bool {
    match confine(input, out_dir) {
        Ok(status) => status != RulesetStatus::NotEnforced,
        Err(_) => false,
    }
}

fn confine(input: &Path, out_dir: &Path) -> Result<RulesetStatus, RulesetError> {
    let read_exec = AccessFs::Execute | AccessFs::ReadFile | AccessFs::ReadDir;
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let mut programs: Vec<PathBuf> = SYSTEM_DIRS.iter().map(PathBuf::from).collect();
    // Programs on PATH outside the usual directories.
    if let Some(path) = std::env::var_os("PATH") {
        programs.extend(std::env::split_paths(&path));
    }
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(ABI_WANTED))?
        .create()?
        .add_rules(path_beneath_rules(programs, read_exec))?
        .add_rules(path_beneath_rules([input], AccessFs::ReadFile))?
        .add_rules(path_beneath_rules(
            [out_dir],
            AccessFs::from_all(ABI_WANTED),
        ))?
        // Stdio::null() for external renderers.
        .add_rules(path_beneath_rules(
            ["/dev/null"],
            AccessFs::ReadFile | AccessFs::WriteFile,
        ))?
        // CPU and memory facts that runtimes and ffmpeg read about themselves.
        .add_rules(path_beneath_rules(
            ["/proc/self", "/sys/devices/system/cpu", "/sys/fs/cgroup"],
            read,
        ))?
        .restrict_self()?;
    Ok(status.ruleset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `restrict` in a forked child (it cannot be undone) and reports what the child
    /// could still read.
    #[test]
    fn only_the_input_and_system_files_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input");
        let out = dir.path().join("out");
        let secret = dir.path().join("secret");
        std::fs::write(&input, b"input").unwrap();
        std::fs::write(&secret, b"secret").unwrap();
        std::fs::create_dir(&out).unwrap();
        let script = format!(
            "cat {input} >/dev/null && echo input-ok; cat {secret} >/dev/null 2>&1 && echo secret-read; \
             echo x > {out}/w && echo out-ok; echo x > {dir}/w 2>/dev/null && echo dir-written; true",
            input = input.display(),
            secret = secret.display(),
            out = out.display(),
            dir = dir.path().display(),
        );
        let (input_c, out_c) = (input.clone(), out.clone());
        let mut command = std::process::Command::new("/bin/sh");
        command.arg("-c").arg(script);
        // SAFETY: test-only; the closure runs in the forked child before exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(move || {
                if !restrict(&input_c, &out_c) {
                    // No Landlock here: say so instead of failing.
                    libc::_exit(3);
                }
                Ok(())
            });
        }
        let output = command.output().unwrap();
        if output.status.code() == Some(3) {
            println!("skipped: this kernel does not enforce Landlock");
            return;
        }
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(said.contains("input-ok"), "{said}");
        assert!(said.contains("out-ok"), "{said}");
        assert!(!said.contains("secret-read"), "{said}");
        assert!(!said.contains("dir-written"), "{said}");
    }
}
