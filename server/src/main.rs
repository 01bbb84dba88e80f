//! The hybrid-chat binary.

use std::process::ExitCode;

/// Threads for blocking work (static file reads, SQLite). Tokio's default of 512 lets a burst
/// of downloads start dozens of threads, each keeping its own malloc arena: measured here, 20
/// parallel wasm downloads took the process from 24 MB to 50 MB. A few threads serve as fast.
const BLOCKING_THREADS: usize = 4;

fn main() -> ExitCode {
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        print!("{}", server::config::help());
        return ExitCode::SUCCESS;
    }
    let config = match server::config::Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("hybrid-chat: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hybrid-chat: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        server::telemetry::init(config.log_format, config.vertex.project.clone());
        match server::run(config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "hybrid-chat stopped");
                eprintln!("hybrid-chat: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
