//! Shared helpers for integration tests: locating the workspace and tools, temporary
//! directories, and real `docker-registry` instances (plain HTTP, or TLS + htpasswd auth).
//! Each test file includes this with `mod support;` and uses what it needs.
#![allow(dead_code)]

pub mod apiserver;
pub mod corpus;
pub mod registry;
pub mod token;
pub mod tools;
