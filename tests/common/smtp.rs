//! A real SMTP server for tests that need one.
/// aiosmtpd (from PyPI) on a free port, printing what it receives.
pub struct SmtpServer {
    child: std::process::Child,
    port: u16,
    pub out: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub fn start() -> Option<SmtpServer> {
        let available = std::process::Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !available {
            super::skip("the SMTP test: pip install aiosmtpd to run it");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("smtp.log");
        let child = std::process::Command::new("python3")
            .args([
                "-u",
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(SmtpServer {
            child,
            port,
            out,
            _dir: dir,
        })
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, decoded (`mail_text`), in arrival order.
    pub fn messages(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.split("---------- MESSAGE FOLLOWS ----------")
            .skip(1)
            .map(|block| {
                let block = block
                    .split("------------ END MESSAGE ------------")
                    .next()
                    .unwrap_or("");
                // The envelope's options come first, then a blank line, then the message.
                let mut lines: Vec<&str> = block.lines().collect();
                while lines.first().is_some_and(|l| {
                    l.is_empty() || l.starts_with("mail options") || l.starts_with("rcpt options")
                }) {
                    lines.remove(0);
                }
                super::mail_text(&lines.join("\n"))
            })
            .collect()
    }

    pub fn wait_for(&self, needle: &str) -> String {
        for _ in 0..100 {
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!(
            "the SMTP server never received {needle}: {}",
            std::fs::read_to_string(&self.out).unwrap_or_default()
        );
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
