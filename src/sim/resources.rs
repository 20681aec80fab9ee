//! The resource types the simulated API server serves, and request-path parsing (no I/O).

/// One served resource type.
#[derive(Debug, PartialEq, Eq)]
pub struct Resource {
    /// "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    /// Plural lower-case name used in paths, e.g. `daemonsets`.
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// Has a `status` subresource (writes to the main resource ignore status, and vice versa).
    pub has_status: bool,
}

impl Resource {
    /// `apiVersion` of objects of this type.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `daemonsets.apps`, `pods`: the name kube-apiserver uses in error messages.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

pub fn verbs() -> &'static [&'static str] {
    VERBS
}

pub static RESOURCES: &[Resource] = &[
    Resource {
        group: "",
        version: "v1",
        plural: "namespaces",
        singular: "namespace",
        kind: "Namespace",
        namespaced: false,
        short_names: &["ns"],
        has_status: true,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "nodes",
        singular: "node",
        kind: "Node",
        namespaced: false,
        short_names: &["no"],
        has_status: true,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        namespaced: true,
        short_names: &["po"],
        has_status: true,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "events",
        singular: "event",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        has_status: false,
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "daemonsets",
        singular: "daemonset",
        kind: "DaemonSet",
        namespaced: true,
        short_names: &["ds"],
        has_status: true,
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "controllerrevisions",
        singular: "controllerrevision",
        kind: "ControllerRevision",
        namespaced: true,
        short_names: &[],
        has_status: false,
    },
    Resource {
        group: "coordination.k8s.io",
        version: "v1",
        plural: "leases",
        singular: "lease",
        kind: "Lease",
        namespaced: true,
        short_names: &["lease"],
        has_status: false,
    },
    Resource {
        group: "events.k8s.io",
        version: "v1",
        plural: "events",
        singular: "event",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        has_status: false,
    }, // Stored without behaviour, so that a controller's deployment (`kubectl apply -k deploy/`) is accepted.
    Resource {
        group: "",
        version: "v1",
        plural: "serviceaccounts",
        singular: "serviceaccount",
        kind: "ServiceAccount",
        namespaced: true,
        short_names: &["sa"],
        has_status: false,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "configmaps",
        singular: "configmap",
        kind: "ConfigMap",
        namespaced: true,
        short_names: &["cm"],
        has_status: false,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "secrets",
        singular: "secret",
        kind: "Secret",
        namespaced: true,
        short_names: &[],
        has_status: false,
    },
    Resource {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "clusterroles",
        singular: "clusterrole",
        kind: "ClusterRole",
        namespaced: false,
        short_names: &[],
        has_status: false,
    },
    Resource {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "clusterrolebindings",
        singular: "clusterrolebinding",
        kind: "ClusterRoleBinding",
        namespaced: false,
        short_names: &[],
        has_status: false,
    },
    Resource {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "roles",
        singular: "role",
        kind: "Role",
        namespaced: true,
        short_names: &[],
        has_status: false,
    },
    Resource {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "rolebindings",
        singular: "rolebinding",
        kind: "RoleBinding",
        namespaced: true,
        short_names: &[],
        has_status: false,
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "deployments",
        singular: "deployment",
        kind: "Deployment",
        namespaced: true,
        short_names: &["deploy"],
        has_status: true,
    },
    Resource {
        group: "policy",
        version: "v1",
        plural: "poddisruptionbudgets",
        singular: "poddisruptionbudget",
        kind: "PodDisruptionBudget",
        namespaced: true,
        short_names: &["pdb"],
        has_status: true,
    },
];

/// The group/versions served, in discovery order ("" is the core group).
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut seen: Vec<(&'static str, &'static str)> = Vec::new();
    for resource in RESOURCES {
        if !seen.contains(&(resource.group, resource.version)) {
            seen.push((resource.group, resource.version));
        }
    }
    seen
}

pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// A v1 resource the simulator's own code names (never a name from a request): the table is
/// static, so a miss is a bug in this file, and it fails loudly rather than serving another kind.
pub fn builtin(group: &str, plural: &str) -> &'static Resource {
    match find(group, "v1", plural) {
        Some(resource) => resource,
        None => panic!("{group}/v1 {plural} is missing from the simulator's resource table"),
    }
}

/// A parsed resource path: `/api/v1/namespaces/default/pods/p1/status` and friends.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub resource: &'static Resource,
    /// None for cluster-scoped resources and for all-namespaces collections.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// Parses a request path; None when it names no served resource.
pub fn parse_path(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", namespace, plural, rest @ ..] => {
            // `/api/v1/namespaces/foo` itself is the namespace object.
            let resource = find(group, version, plural)?;
            if !resource.namespaced {
                return None;
            }
            (Some(namespace.to_string()), [&[*plural][..], rest].concat())
        }
        rest => (None, rest.to_vec()),
    };
    let (plural, name, subresource) = match rest.as_slice() {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return None,
    };
    let resource = find(group, version, plural)?;
    if namespace.is_none() && resource.namespaced && name.is_some() {
        return None;
    }
    Some(Target {
        resource,
        namespace,
        name,
        subresource,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_into_resource_namespace_name_and_subresource() {
        let cases = [
            ("/api/v1/nodes", Some(("nodes", None, None, None))),
            (
                "/api/v1/nodes/n1/status",
                Some(("nodes", None, Some("n1"), Some("status"))),
            ),
            (
                "/api/v1/namespaces/default",
                Some(("namespaces", None, Some("default"), None)),
            ),
            (
                "/api/v1/namespaces/kube-system/pods",
                Some(("pods", Some("kube-system"), None, None)),
            ),
            (
                "/api/v1/namespaces/ns/pods/p/binding",
                Some(("pods", Some("ns"), Some("p"), Some("binding"))),
            ),
            ("/apis/apps/v1/daemonsets", Some(("daemonsets", None, None, None))),
            (
                "/apis/apps/v1/namespaces/d/daemonsets/foo",
                Some(("daemonsets", Some("d"), Some("foo"), None)),
            ),
            (
                "/apis/coordination.k8s.io/v1/namespaces/d/leases/l",
                Some(("leases", Some("d"), Some("l"), None)),
            ),
            ("/apis/apps/v1/namespaces/d/nodes/n1", None),
            ("/apis/apps/v1/pods", None),
            ("/apis/apps/v1/daemonsets/foo", None),
            ("/healthz", None),
        ];
        for (path, expected) in cases {
            let parsed = parse_path(path).map(|t| {
                (
                    t.resource.plural,
                    t.namespace.clone(),
                    t.name.clone(),
                    t.subresource.clone(),
                )
            });
            let expected = expected.map(|(p, ns, n, s): (&str, Option<&str>, Option<&str>, Option<&str>)| {
                (p, ns.map(String::from), n.map(String::from), s.map(String::from))
            });
            assert_eq!(parsed, expected, "{path}");
        }
    }
}
