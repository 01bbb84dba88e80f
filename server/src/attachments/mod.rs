//! Files a person attaches to a message (issue #28): told apart by their content (`sniff`),
//! stripped of location metadata (`metadata`), stored (`upload`: the chat store's record, then
//! the blob store), taken from the composer's multipart post (`form`; its files wait on disk as
//! they arrive, `spool`, and go again if it is refused, `stored`), served to their owner
//! (`serve`), and swept when never sent (`sweep`).

pub mod form;
pub mod metadata;
pub mod serve;
pub mod sniff;
pub mod spool;
mod stored;
pub mod sweep;
pub mod upload;

#[cfg(test)]
mod tests;
