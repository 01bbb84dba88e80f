//! Logging: human-readable text locally; on GKE, one JSON object per line in the shape Cloud
//! Logging reads (`severity`, `message`, `timestamp`, and `logging.googleapis.com/trace` when the
//! load balancer sent a trace header). Every line logged while serving a request carries that
//! request's `request_id`. Message text never goes to the log.

use crate::config::LogFormat;
use serde_json::{Map, Value};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat, project: Option<String>) {
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let mut filter = rust_log
        .as_deref()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    if quiet_credential_search(
        rust_log.as_deref(),
        std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").as_deref(),
    ) {
        if let Ok(directive) = "gcp_auth=error".parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(CloudLogging { project })
            .try_init(),
    };
    if let Err(e) = result {
        eprintln!("hybrid-chat: logging was already initialised: {e}");
    }
}

/// Whether gcp_auth's own retries stay out of the log. Without credentials configured
/// explicitly, its search tries the GKE metadata server, which on a laptop fails with a few
/// WARN lines before the one line that matters (vertex: "Gemini is not configured", naming
/// where it looked). With a key file named, or gcp_auth named in `RUST_LOG`, they are kept.
fn quiet_credential_search(rust_log: Option<&str>, key_file: Option<&std::ffi::OsStr>) -> bool {
    let explicit = key_file.is_some_and(|f| !f.is_empty());
    let asked_for = rust_log.is_some_and(|v| v.contains("gcp_auth"));
    !explicit && !asked_for
}

/// Cloud Logging's structured-log shape.
pub struct CloudLogging {
    /// Needed to turn a trace id into `projects/P/traces/T`.
    pub project: Option<String>,
}

fn severity(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

impl<S, N> FormatEvent<S, N> for CloudLogging
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        // Span fields first (request_id, method, path), so the event's own fields win.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>() {
                    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(fields) {
                        line.extend(map);
                    }
                }
            }
        }
        event.record(&mut JsonVisitor(&mut line));
        line.insert("severity".into(), severity(meta.level()).into());
        line.insert("target".into(), meta.target().into());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        line.insert(
            "timestamp".into(),
            serde_json::json!({"seconds": now.as_secs(), "nanos": now.subsec_nanos()}),
        );
        if let (Some(project), Some(Value::String(trace))) =
            (&self.project, line.remove("trace_id"))
        {
            line.insert(
                "logging.googleapis.com/trace".into(),
                format!("projects/{project}/traces/{trace}").into(),
            );
        }
        writeln!(writer, "{}", Value::Object(line))
    }
}

#[cfg(test)]
mod tests {
    use super::quiet_credential_search;
    use std::ffi::OsStr;

    #[test]
    fn gcp_auth_retries_are_quiet_unless_credentials_or_its_logs_were_asked_for() {
        assert!(quiet_credential_search(None, None));
        assert!(quiet_credential_search(Some("warn"), Some(OsStr::new(""))));
        assert!(!quiet_credential_search(
            None,
            Some(OsStr::new("/keys/sa.json"))
        ));
        assert!(!quiet_credential_search(Some("info,gcp_auth=debug"), None));
    }
}
