//! The pieces of the chat page.

pub mod composer;
pub mod settings_panel;
pub mod transcript;
