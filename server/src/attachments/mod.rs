//! Files a person attaches to a message (issue #28): taken from the composer's multipart post
//! (`form`), each waiting on disk as it arrives (`spool`); read where it lies, a window at a
//! time (`source`), told apart by its content (`sniff`) and planned without its location
//! metadata (`metadata`); recorded in the chat store and streamed to the blob store (`upload`),
//! and deleted again if the post is refused (`stored`); served to its owner (`serve`), and swept
//! when never sent (`sweep`).

pub mod form;
pub mod metadata;
pub mod serve;
pub mod sniff;
pub mod source;
pub mod spool;
mod stored;
pub mod sweep;
pub mod upload;

#[cfg(test)]
mod tests;
