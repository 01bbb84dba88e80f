//! The hybrid-chat binary.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match server::config::Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("hybrid-chat: {e}");
            return ExitCode::from(2);
        }
    };
    server::telemetry::init(config.log_format, config.vertex.project.clone());
    match server::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "hybrid-chat stopped");
            eprintln!("hybrid-chat: {e}");
            ExitCode::FAILURE
        }
    }
}
