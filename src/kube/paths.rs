//! Request paths of the objects daemonroll reads and writes (no I/O).

pub fn pods_path(namespace: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/pods")
}

pub fn pod_path(namespace: &str, name: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/pods/{name}")
}

pub fn daemon_set_path(namespace: &str, name: &str) -> String {
    format!("/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}")
}

pub fn revisions_path(namespace: &str) -> String {
    format!("/apis/apps/v1/namespaces/{namespace}/controllerrevisions")
}

pub fn revision_path(namespace: &str, name: &str) -> String {
    format!("/apis/apps/v1/namespaces/{namespace}/controllerrevisions/{name}")
}

pub fn lease_path(namespace: &str, name: &str) -> String {
    format!("/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}")
}

pub fn leases_path(namespace: &str) -> String {
    format!("/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases")
}

/// core/v1 Events (client-go's recorder writes these; events.k8s.io/v1 serves the same objects).
pub fn events_path(namespace: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/events")
}

pub fn event_path(namespace: &str, name: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/events/{name}")
}
