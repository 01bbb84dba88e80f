//! Files a person attaches to a message (issue #28): told apart by their content, refused when
//! the models cannot read them or they claim too many pixels, and stripped of location
//! metadata before they are kept or sent. The routes, the blob store and the wire come next.

pub mod metadata;
pub mod sniff;

#[cfg(test)]
mod tests;
