//! Part of `store_contract.rs`: see its notes.

use super::*;

/// The per-visitor limit counters: atomic adds, from many tasks at once, that outlive the
/// process (the limits must hold across restarts and replicas).
pub(crate) async fn counters_contract(name: &str, counters: Arc<dyn UsageCounters>) {
    println!("[{name}] limit counters add atomically");
    let far = 4_102_444_800_000; // 2100-01-01
    assert_eq!(counters.get("turns-a-1").await.expect("get"), 0);
    assert_eq!(counters.add("turns-a-1", 1, far).await.expect("add"), 1);
    assert_eq!(counters.add("turns-a-1", 41, far).await.expect("add"), 42);
    let adds: Vec<_> = (0..20)
        .map(|_| {
            let c = counters.clone();
            tokio::spawn(async move { c.add("turns-b-1", 1, far).await.expect("add") })
        })
        .collect();
    let mut seen = Vec::new();
    for a in adds {
        seen.push(a.await.expect("join"));
    }
    seen.sort();
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<i64>>(),
        "every add saw its own count"
    );
    assert_eq!(counters.get("turns-b-1").await.expect("get"), 20);
    assert_eq!(counters.get("turns-a-1").await.expect("get"), 42);
}
