//! The body layer against v1's behaviour (tests/imperva/test_container.py, the body parts) and
//! the faults it must name: concatenated streams, trailing bytes, corrupt vs truncated, bombs,
//! lines across every chunk boundary, MD5.

mod bombs;
mod chunks;
mod container;
mod detect;
mod scale;
mod support;
