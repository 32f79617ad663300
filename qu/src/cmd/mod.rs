//! One module per top-level command.

pub mod init;
pub mod serve;
