//! Talking to the API server: client configuration, the shared API client, its errors, request
//! pacing and the write gate (I/O). Imports nothing else of daemonroll: it is the bottom of the
//! I/O side of the stack (ARCHITECTURE.md, "Folders and what they may import").

pub mod api;
pub mod config;
pub mod error;
pub mod gate;
pub mod paths;
pub mod rate_limit;

pub use api::{ApiClient, PatchKind, REQUEST_TIMEOUT};
pub use config::{ClientError, ClientOptions};
pub use error::ApiError;
pub use gate::WriteGate;
