//! Landlock (Linux 5.13+): after this, the render process and everything it starts (pdftoppm,
//! ffmpeg) may read its one input file, write only into its output directory, and read and
//! execute only the system directories programs and their libraries and fonts live in. Home
//! directories, the data directory's other files, the configuration and /proc of other
//! processes are out of reach, even for a renderer taken over by a hostile file (SPEC §6).
//! Kernels without Landlock leave the process as it was; the other limits still apply.
//!
//! The kernel interface is three system calls with two small structs, written out here
//! (the `libc` crate has the call numbers but not the structs).
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const CREATE_RULESET_VERSION: libc::c_uint = 1;
const RULE_PATH_BENEATH: libc::c_int = 1;

const EXECUTE: u64 = 1 << 0;
const WRITE_FILE: u64 = 1 << 1;
const READ_FILE: u64 = 1 << 2;
const READ_DIR: u64 = 1 << 3;
/// Every filesystem right of ABI 1 (remove, make dir/file/socket/fifo/device/symlink...).
const ABI1_ALL: u64 = (1 << 13) - 1;
const REFER: u64 = 1 << 13;
const TRUNCATE: u64 = 1 << 14;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

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
    // SAFETY: with a null attribute and the VERSION flag the call only returns the ABI number.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    if abi < 1 {
        return false;
    }
    let mut handled = ABI1_ALL;
    if abi >= 2 {
        handled |= REFER;
    }
    if abi >= 3 {
        handled |= TRUNCATE;
    }
    let file_rights = WRITE_FILE | READ_FILE | EXECUTE | (handled & TRUNCATE);
    let attr = RulesetAttr {
        handled_access_fs: handled,
    };
    // SAFETY: `attr` is a valid ruleset attribute of the size passed, alive for the call.
    let ruleset = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const RulesetAttr,
            std::mem::size_of::<RulesetAttr>(),
            0u32,
        )
    };
    let Ok(ruleset) = i32::try_from(ruleset) else {
        return false;
    };
    if ruleset < 0 {
        return false;
    }
    let mut rules: Vec<(PathBuf, u64)> = SYSTEM_DIRS
        .iter()
        .map(|d| (PathBuf::from(d), EXECUTE | READ_FILE | READ_DIR))
        .collect();
    // Programs on PATH outside the usual directories.
    if let Some(path) = std::env::var_os("PATH") {
        rules.extend(std::env::split_paths(&path).map(|d| (d, EXECUTE | READ_FILE | READ_DIR)));
    }
    rules.extend([
        (input.to_path_buf(), READ_FILE),
        (out_dir.to_path_buf(), handled),
        // Stdio::null() for external renderers.
        (PathBuf::from("/dev/null"), READ_FILE | WRITE_FILE),
        // CPU and memory facts that runtimes and ffmpeg read about themselves.
        (PathBuf::from("/proc/self"), READ_FILE | READ_DIR),
        (
            PathBuf::from("/sys/devices/system/cpu"),
            READ_FILE | READ_DIR,
        ),
        (PathBuf::from("/sys/fs/cgroup"), READ_FILE | READ_DIR),
    ]);
    for (path, access) in rules {
        add_rule(ruleset, &path, access, file_rights);
    }
    // SAFETY: plain system calls on this process; `ruleset` is the descriptor created above.
    let enforced = unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
            && libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) == 0
    };
    // SAFETY: closes the descriptor created above, once.
    unsafe {
        libc::close(ruleset);
    }
    enforced
}

/// Allows `access` beneath `path` (only the file rights when it is a file); missing paths
/// are skipped.
fn add_rule(ruleset: i32, path: &Path, access: u64, file_rights: u64) {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    let access = if path.is_dir() {
        access
    } else {
        access & file_rights
    };
    // SAFETY: `c_path` is a valid NUL-terminated string for the duration of the call.
    let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return;
    }
    let beneath = PathBeneathAttr {
        allowed_access: access,
        parent_fd: fd,
    };
    // SAFETY: `beneath` is a valid, live path-beneath attribute; `fd` is open; both calls
    // only read their arguments, and `fd` is closed once.
    unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset,
            RULE_PATH_BENEATH,
            &beneath as *const PathBeneathAttr,
            0u32,
        );
        libc::close(fd);
    }
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
