//! What every request handler of the simulated API server shares (no I/O).

use std::sync::Arc;

use parking_lot::Mutex;

use super::access::AccessLog;
use super::faults::Faults;
use super::fleet::Fleet;
use super::requests::RequestJournal;
use super::store::Store;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub access: Arc<AccessLog>,
    pub faults: Arc<Faults>,
    pub requests: Arc<RequestJournal>,
    pub fleet: Fleet,
    pub random: Arc<Mutex<fastrand::Rng>>,
    /// `host:port`, for discovery's serverAddressByClientCIDRs.
    pub address: String,
}
