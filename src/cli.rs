//! The command line (SPEC §4): `serve` (default), `migrate`, `user create`, `token create`,
//! `upload` (the client side, in `upload_cli`), and the hidden `render` (`media`'s confined
//! child process).
use std::io::BufRead;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::accounts::{tokens, users};
use crate::config::Config;
use crate::db::Db;
use crate::App;

#[derive(Parser)]
#[command(
    name = "assetport",
    version,
    about = "Publish approved assets to partners; collect new designs from agencies."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Check every stored binary against the database (size and SHA-256) and report objects
    /// nothing refers to; exits 1 if anything referenced is missing or damaged.
    Fsck {
        /// Remove the orphans found (never anything the database refers to).
        #[arg(long)]
        repair: bool,
        /// Objects younger than this many seconds are never orphans (uploads in flight).
        #[arg(long, default_value_t = 3600)]
        grace_secs: u64,
    },
    /// Write a complete, checked backup of the SQLite database and every stored binary to a
    /// new directory (safe while the portal runs).
    Backup {
        /// The directory to create.
        dest: std::path::PathBuf,
    },
    /// Restore a backup made by `assetport backup` into the configured database and storage,
    /// then check it as fsck does.
    Restore {
        /// The backup directory.
        src: std::path::PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        overwrite: bool,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Upload a directory tree into a folder of a running portal (parallel, resumable; files
    /// already there with the same SHA-256 are skipped).
    Upload {
        /// The directory to send; its subfolders are recreated.
        dir: std::path::PathBuf,
        /// The portal's address, e.g. https://assets.example.com
        #[arg(long)]
        server: String,
        /// An API token (`assetport token create`); or set ASSETPORT_TOKEN.
        #[arg(long, env = "ASSETPORT_TOKEN", hide_env_values = true)]
        token: String,
        /// The target folder's path, e.g. /Campaigns/Spring
        #[arg(long)]
        folder: String,
        /// Files sent at the same time.
        #[arg(long, default_value_t = 4)]
        parallel: usize,
        /// No progress bar (the summary is still printed).
        #[arg(long)]
        quiet: bool,
    },
    /// Internal: render one file's thumbnail and preview in this confined process and print a
    /// JSON report (the server runs it through `media::render_in_child`).
    #[command(hide = true)]
    Render {
        #[arg(long)]
        input: std::path::PathBuf,
        /// Directory that receives thumb.jpg and preview.jpg.
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long)]
        max_pixels: Option<u64>,
        #[arg(long)]
        max_bytes_alloc: Option<u64>,
        #[arg(long)]
        timeout_ms: Option<u64>,
        /// Write out/preset.jpg fitted into this many pixels instead of the renditions.
        #[arg(long, value_parser = clap::value_parser!(u32).range(16..=20_000))]
        preset_max: Option<u32>,
        /// How the preset is encoded: jpeg (alpha flattened), png or webp (alpha kept).
        #[arg(long, default_value = "jpeg", value_parser = ["jpeg", "png", "webp"])]
        preset_format: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "member", value_parser = ["admin", "member"])]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for an account and print it (shown only this once).
    Create {
        #[arg(long)]
        email: String,
        /// A label to recognise the token by.
        #[arg(long)]
        name: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The renderer starts nothing else: no logging set-up, no runtime threads (they would
    // count against its address-space limit), no configuration.
    if let Some(Command::Render {
        input,
        out,
        max_pixels,
        max_bytes_alloc,
        timeout_ms,
        preset_max,
        preset_format,
    }) = &cli.command
    {
        let defaults = crate::media::Limits::default();
        let limits = crate::media::Limits {
            max_pixels: max_pixels.unwrap_or(defaults.max_pixels),
            max_bytes_alloc: max_bytes_alloc.unwrap_or(defaults.max_bytes_alloc),
            timeout: timeout_ms.map_or(defaults.timeout, std::time::Duration::from_millis),
        };
        let output = match preset_max {
            Some(max) => crate::media::Output::Preset {
                max: *max,
                format: crate::media::Encoding::parse(preset_format).unwrap_or_default(),
            },
            None => crate::media::Output::Renditions,
        };
        return crate::media::run_render_command(input, out, &limits, output);
    }
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "assetport=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr);
    // ASSETPORT_LOG_FORMAT=json: one JSON object per line, for log shippers.
    if std::env::var("ASSETPORT_LOG_FORMAT").as_deref() == Ok("json") {
        logs.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        logs.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    // The upload client talks to a server over HTTP; it needs no local configuration.
    if let Command::Upload {
        dir,
        server,
        token,
        folder,
        parallel,
        quiet,
    } = command
    {
        return crate::upload_cli::run(crate::upload_cli::Options {
            dir,
            server,
            token,
            folder,
            parallel,
            quiet,
        })
        .await;
    }
    let config = Config::load()?;
    match command {
        Command::Upload { .. } | Command::Render { .. } => Ok(()), // handled above
        Command::Serve => serve(config).await,
        Command::Migrate => {
            Db::connect_pool(config.database_url.expose(), config.db_pool)
                .await?
                .migrate()
                .await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Fsck { repair, grace_secs } => fsck(&config, repair, grace_secs).await,
        Command::Backup { dest } => {
            let m = crate::backup::backup(&config, &dest).await?;
            println!(
                "backup written to {}: database and {} binaries ({} bytes), all checked",
                dest.display(),
                m.objects,
                m.bytes
            );
            Ok(())
        }
        Command::Restore { src, overwrite } => {
            let m = crate::backup::restore(&config, &src, overwrite).await?;
            println!(
                "restored the backup of {}: database and {} binaries ({} bytes)",
                m.created_at, m.objects, m.bytes
            );
            fsck(&config, false, 0).await
        }
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    name,
                    role,
                    password_stdin,
                },
        } => {
            if !password_stdin {
                anyhow::bail!("pass the password on standard input with --password-stdin");
            }
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let db = Db::connect_pool(config.database_url.expose(), config.db_pool).await?;
            db.migrate().await?;
            let role = users::Role::parse(&role)?;
            let user = users::create_user(
                &db,
                users::NewUser {
                    email: &email,
                    name: &name,
                    role,
                    password,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created {} account {} ({})",
                role.as_str(),
                user.email,
                user.id
            );
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { email, name },
        } => {
            let db = Db::connect_pool(config.database_url.expose(), config.db_pool).await?;
            db.migrate().await?;
            let user = users::by_email(&db, &email)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no account with email {email}"))?;
            let token = tokens::create_api_token(&db, &user.id, &name).await?;
            println!("{token}");
            Ok(())
        }
    }
}

/// `assetport fsck`: prints what it found; an error when anything referenced is missing or
/// damaged.
async fn fsck(config: &Config, repair: bool, grace_secs: u64) -> anyhow::Result<()> {
    let db = Db::connect_pool(config.database_url.expose(), config.db_pool).await?;
    db.migrate().await?;
    let storage = crate::storage::Storage::from_url(&config.storage)?;
    let grace = std::time::Duration::from_secs(grace_secs);
    let r = crate::fsck::run(&db, &storage, repair, grace).await?;
    for k in &r.missing {
        println!("missing: {k}");
    }
    for k in &r.damaged {
        println!("damaged: {k}");
    }
    for k in &r.orphans {
        println!("{}: {k}", if repair { "removed orphan" } else { "orphan" });
    }
    println!(
        "{} binaries checked: {} missing, {} damaged, {} orphans{}",
        r.checked,
        r.missing.len(),
        r.damaged.len(),
        r.orphans.len(),
        if repair {
            format!(" ({} removed)", r.removed)
        } else {
            String::new()
        }
    );
    if !r.ok() {
        anyhow::bail!("storage does not match the database");
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = App::build(config.clone()).await?;
    let addr = app.local_addr();
    println!(
        "assetport is running on http://{addr}  (public URL {})",
        config.public_url
    );
    println!(
        "  database {}   storage {}",
        redact(config.database_url.expose()),
        config.storage
    );
    if let Some(token) = &app.setup_token {
        println!();
        println!("No admin account yet. Open this one-time link to create the first one:");
        println!("  {}/setup/{token}", config.public_url);
        println!("or create one from the command line:");
        println!("  assetport user create --email you@example.com --name \"Your Name\" --role admin --password-stdin");
    }
    app.run().await
}

/// Database URLs can carry a password; print them without it.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}
