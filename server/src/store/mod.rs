//! Chat stores: each implements `app::services::ChatStore`.

pub mod sqlite;
