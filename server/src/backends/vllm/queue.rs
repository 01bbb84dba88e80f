//! vLLM's queue, read from its Prometheus text exposition (`GET /metrics`).

/// `vllm:num_requests_waiting` for `model` (its `model_name` label), summed over engines; a
/// series without that label counts too (older servers). `None` when the text has no such
/// series: the server does not export it.
pub fn waiting(metrics: &str, model: &str) -> Option<usize> {
    let mut found = None;
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("vllm:num_requests_waiting") else {
            continue;
        };
        let (labels, value) = match rest.strip_prefix('{') {
            Some(labelled) => match labelled.split_once('}') {
                Some((labels, value)) => (labels, value),
                None => continue,
            },
            // The name must end here, not continue (`…_waiting_by_reason`).
            None if rest.starts_with(' ') => ("", rest),
            None => continue,
        };
        if let Some(name) = label(labels, "model_name") {
            if name != model {
                continue;
            }
        }
        // `value [timestamp]`; a gauge's value is a float ("12.0").
        let Some(value) = value
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        else {
            continue;
        };
        if value.is_finite() && value >= 0.0 {
            *found.get_or_insert(0) += value as usize;
        }
    }
    found
}

/// The value of `key` among Prometheus labels (`a="x",b="y"`); values here have no escapes.
fn label<'l>(labels: &'l str, key: &str) -> Option<&'l str> {
    labels.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::waiting;

    /// What vLLM 0.11's `/metrics` writes (V1 engine: an `engine` label per engine core).
    const VLLM: &str = r#"# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="google/gemma-3-12b-it"} 64.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="google/gemma-3-12b-it"} 12.0
vllm:num_requests_waiting{engine="1",model_name="google/gemma-3-12b-it"} 3.0
vllm:num_requests_waiting{engine="0",model_name="other"} 40.0
vllm:num_requests_waiting_by_reason{reason="capacity"} 99.0
"#;

    #[test]
    fn sums_the_engines_of_our_model_only() {
        assert_eq!(waiting(VLLM, "google/gemma-3-12b-it"), Some(15));
        assert_eq!(waiting(VLLM, "other"), Some(40));
    }

    #[test]
    fn unlabelled_series_and_missing_metrics() {
        assert_eq!(waiting("vllm:num_requests_waiting 7\n", "m"), Some(7));
        assert_eq!(waiting("process_cpu_seconds_total 1.0\n", "m"), None);
        assert_eq!(waiting("", "m"), None);
        assert_eq!(
            waiting("vllm:num_requests_waiting{model_name=\"m\"} NaN\n", "m"),
            None
        );
        assert_eq!(waiting("vllm:num_requests_waiting{broken 3\n", "m"), None);
    }
}
