//! The abuse suite: what a hostile visitor can try, each refused or bounded, with what it cost
//! and whether ordinary visitors alongside were served. Prints one table and writes it to
//! `$CARGO_TARGET_DIR/abuse.json` for the bench to report; fails if any case was not refused or
//! bounded, or an ordinary visitor lost anything. (`harness = false`: one run, one table.)

mod abuse_cases;

use abuse_cases::Case;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cases: Vec<Case> = runtime.block_on(abuse_cases::all());
    println!(
        "\n{:<48} {:>6} {:>8}  {:<64} ordinary visitors",
        "abuse", "tried", "bounded", "cost"
    );
    let mut failed = Vec::new();
    for case in &cases {
        println!(
            "{:<48} {:>6} {:>8}  {:<64} {}",
            case.name,
            case.tried,
            case.refused,
            case.cost,
            if case.ordinary_ok { "served" } else { "HURT" }
        );
        if !case.problems.is_empty() || !case.ordinary_ok {
            failed.push(format!("{}: {:?}", case.name, case.problems));
        }
    }
    let report: Vec<serde_json::Value> = cases.iter().map(Case::json).collect();
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        let path = std::path::Path::new(&dir).join("abuse.json");
        let _ = std::fs::write(
            path,
            serde_json::to_string_pretty(&report).unwrap_or_default(),
        );
    }
    assert!(
        failed.is_empty(),
        "abuse not contained:\n{}",
        failed.join("\n")
    );
}
