//! Cross-crate integration tests of WES-rs live in `tests/`; this library is empty.
