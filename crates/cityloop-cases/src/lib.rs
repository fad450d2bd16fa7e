//! The case service: where the pure loop (`cityloop-workflow`) meets the
//! store. Intake (area path, routing, duplicate detection), commands
//! (replay → decide → append with an optimistic version), the SLA timer
//! scheduler, views and metrics.
//!
//! Key design decision: the store keeps the history as opaque, versioned
//! JSON events ([`codec`]) and a summary row per case for queries; the truth
//! is always the history, replayed through `cityloop_workflow::apply`.

pub mod codec;
pub mod metrics;
pub mod policy;
pub mod public;
pub mod routing;
pub mod service;

pub use routing::{Located, Routing, build_index, locate_point};
pub use service::{
    AUTOMATION_USERNAME, CaseConfig, CaseError, CaseService, Duplicate, Intake, IntakeOutcome,
    Photo, ReportInput, media_upload,
};
