//! The pieces of the chat page.

pub mod attach;
pub mod composer;
pub mod sessions;
pub mod settings_panel;
pub mod system_prompt;
pub mod transcript;
pub mod turn_actions;
pub mod verdict;
pub mod working;
