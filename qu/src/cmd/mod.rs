//! One module per top-level command.

pub mod alert;
pub mod backup;
pub mod canary;
pub mod check;
pub mod demo;
pub mod enroll;
pub mod generate;
pub mod init;
pub mod maintenance;
pub mod node;
pub mod ops;
pub mod resolvers;
pub mod serve;
pub mod settings;
pub mod status;
pub mod token;
pub mod trust;
