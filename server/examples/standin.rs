//! Runs the model stand-ins (vLLM, Vertex AI, OAuth) as a process, for the Playwright tests: `standin [PORT]`.
//! Prints `STANDIN_URL=http://127.0.0.1:PORT` once listening.

#[path = "../tests/support/model_standin.rs"]
mod model_standin;

use std::io::Write;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let standin = model_standin::start(port).await;
    println!("STANDIN_URL={}", standin.url());
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
}
