//! Chat stores: each implements `app::services::ChatStore`, and both pass the same contract
//! tests (`server/tests/store_contract.rs`).

pub mod firestore;
pub mod sqlite;
