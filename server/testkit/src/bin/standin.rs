//! Runs the model stand-ins (vLLM, Vertex AI, OAuth, IAP's keys) as a process, for a person
//! trying the app without a GPU: `standin [PORT]`. Prints `STANDIN_URL=http://127.0.0.1:PORT`
//! once listening.

use std::io::Write;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let standin = testkit::standin::start(port).await;
    println!("STANDIN_URL={}", standin.url());
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
}
