//! Behavioural tests of the public interface of `cityloop-sta`.

mod bounds;
mod common;
mod errors;
mod filter;
mod functions;
mod geometry;
mod navigation;
mod options;
mod props;
mod sorting;
