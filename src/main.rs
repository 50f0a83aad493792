//! The `assetport` binary: all logic lives in the library so tests start exactly what runs here.
fn main() -> std::process::ExitCode {
    assetport::cli::main()
}
