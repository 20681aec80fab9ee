//! Request bodies in kube-apiserver's protobuf encoding, decoded to the JSON every verb works on (no I/O).
//!
//! client-go's typed clients, and so kubectl's generator commands (`kubectl create namespace`,
//! `create serviceaccount`, `create role` …), send `application/vnd.kubernetes.protobuf`: the
//! four bytes `k8s\0`, then a `runtime.Unknown` whose `typeMeta` names the kind and whose `raw`
//! holds the object's message (apimachinery pkg/runtime/serializer/protobuf).
//!
//! Why k8s-pb messages mapped onto k8s-openapi types: k8s-pb has the messages (prost, Kubernetes
//! 1.34) but no serde, so its values cannot be written as JSON directly. k8s-openapi's types can,
//! with the JSON names, base64 bytes, timestamps and int-or-string forms kube-apiserver uses; what is
//! written here is only the field-by-field copy, each message destructured without `..`, so a field
//! a newer k8s-pb adds fails the build instead of being dropped. The copy follows Go's encoding:
//! gogo-protobuf writes every non-pointer field, empty or not, so an empty string, a zero number
//! or a zero time reads as absent where the Go field is `omitempty` (`meta::text` and friends).
//!
//! Decoded kinds: Namespace, ServiceAccount, ConfigMap, Secret, core/v1 and events.k8s.io/v1
//! Event, Lease, Role, ClusterRole, RoleBinding, ClusterRoleBinding and PodDisruptionBudget.
//! Any other kind (a Deployment from `kubectl create deployment`: the pod template would need
//! most of core/v1 copied by hand) is refused with 415 naming it.

mod core;
mod meta;
mod others;

use prost::Message;
use serde_json::Value;

use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};

/// The prefix of every protobuf-encoded object (apimachinery protobuf serializer's `protoEncodingPrefix`).
const MAGIC: &[u8] = b"k8s\x00";

/// The media type of kube-apiserver's protobuf encoding.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Why a protobuf body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    /// The body lacks the `k8s\0` prefix: it is not Kubernetes protobuf at all.
    #[error("the body is not a Kubernetes protobuf message: it does not start with the prefix \"k8s\\x00\"")]
    NoMagic,
    /// The envelope, or the object inside it, is not valid protobuf for its kind.
    #[error("cannot decode the protobuf {what}")]
    Malformed {
        what: String,
        #[source]
        source: prost::DecodeError,
    },
    /// The envelope says its object is compressed or in another encoding.
    #[error(
        "the protobuf envelope holds its object as content type {content_type:?} with encoding {content_encoding:?}; only plain protobuf is understood"
    )]
    Encoding {
        content_type: String,
        content_encoding: String,
    },
    /// A kind the simulator has no protobuf decoder for.
    #[error(
        "the simulator cannot decode protobuf for {api_version} {kind}; send it as JSON (kubectl apply -f, or kubectl create … --dry-run=client -o yaml | kubectl apply -f -)"
    )]
    Unsupported { api_version: String, kind: String },
    /// A value the JSON form cannot hold: a timestamp out of range, managed fields that are not JSON.
    #[error("{kind} field {field}: {problem}")]
    Value {
        kind: &'static str,
        field: &'static str,
        problem: String,
    },
}

impl ProtobufError {
    /// 415 when the encoding or kind is not understood (as kube-apiserver answers an unknown
    /// media type), 400 when the bytes are not what they claim to be.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, ProtobufError::Encoding { .. } | ProtobufError::Unsupported { .. })
    }
}

type Decoder = fn(&[u8]) -> Result<Value, ProtobufError>;

/// (apiVersion, kind, decoder of the raw object).
const DECODERS: &[(&str, &str, Decoder)] = &[
    ("v1", "Namespace", core::namespace),
    ("v1", "ServiceAccount", core::service_account),
    ("v1", "ConfigMap", core::config_map),
    ("v1", "Secret", core::secret),
    ("v1", "Event", core::event),
    ("events.k8s.io/v1", "Event", others::event),
    ("coordination.k8s.io/v1", "Lease", others::lease),
    ("rbac.authorization.k8s.io/v1", "Role", others::role),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", others::cluster_role),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", others::role_binding),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        others::cluster_role_binding,
    ),
    ("policy/v1", "PodDisruptionBudget", others::pod_disruption_budget),
];

/// Decodes one prost message of a kind's raw bytes.
fn message<M: Message + Default>(kind: &str, raw: &[u8]) -> Result<M, ProtobufError> {
    M::decode(raw).map_err(|source| ProtobufError::Malformed {
        what: kind.to_string(),
        source,
    })
}

/// A k8s-openapi object as the JSON the verbs store (apiVersion and kind included).
fn json<T: serde::Serialize>(kind: &'static str, object: &T) -> Result<Value, ProtobufError> {
    serde_json::to_value(object).map_err(|error| ProtobufError::Value {
        kind,
        field: "(object)",
        problem: error.to_string(),
    })
}

/// The JSON form of a protobuf-encoded object.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let envelope = body.strip_prefix(MAGIC).ok_or(ProtobufError::NoMagic)?;
    let Unknown {
        type_meta,
        raw,
        content_encoding,
        content_type,
    } = message::<Unknown>("envelope (runtime.Unknown)", envelope)?;
    let content_encoding = content_encoding.unwrap_or_default();
    let content_type = content_type.unwrap_or_default();
    // An empty contentType means the raw object is in the envelope's own encoding.
    if !content_encoding.is_empty() || !(content_type.is_empty() || content_type == CONTENT_TYPE) {
        return Err(ProtobufError::Encoding {
            content_type,
            content_encoding,
        });
    }
    let TypeMeta { api_version, kind } = type_meta.unwrap_or_default();
    let (api_version, kind) = (api_version.unwrap_or_default(), kind.unwrap_or_default());
    let decoder = DECODERS
        .iter()
        .find(|(v, k, _)| *v == api_version && *k == kind)
        .map(|(_, _, decoder)| decoder)
        .ok_or(ProtobufError::Unsupported { api_version, kind })?;
    decoder(&raw.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The bytes kubectl 1.32 sends for `kubectl create namespace monitoring` (from `-v=9`).
    const KUBECTL_CREATE_NAMESPACE: &[u8] = &[
        0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, 0x4e, 0x61, 0x6d, 0x65, //
        0x73, 0x70, 0x61, 0x63, 0x65, 0x12, 0x22, 0x0a, 0x1a, 0x0a, 0x0a, 0x6d, 0x6f, 0x6e, 0x69, 0x74, //
        0x6f, 0x72, 0x69, 0x6e, 0x67, 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00, 0x32, 0x00, 0x38, //
        0x00, 0x42, 0x00, 0x12, 0x00, 0x1a, 0x02, 0x0a, 0x00, 0x1a, 0x00, 0x22, 0x00,
    ];

    fn envelope(api_version: &str, kind: &str, raw: Vec<u8>, content_encoding: &str) -> Vec<u8> {
        let unknown = Unknown {
            type_meta: Some(TypeMeta {
                api_version: Some(api_version.into()),
                kind: Some(kind.into()),
            }),
            raw: Some(raw),
            content_encoding: Some(content_encoding.into()),
            content_type: Some(String::new()),
        };
        [MAGIC.to_vec(), unknown.encode_to_vec()].concat()
    }

    #[test]
    fn kubectls_namespace_decodes_with_go_zero_values_left_out() {
        let decoded = decode(KUBECTL_CREATE_NAMESPACE).expect("decodes");
        assert_eq!(
            decoded,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring"}, "spec": {}, "status": {}})
        );
    }

    #[test]
    fn a_kind_without_a_decoder_is_unsupported_and_named() {
        let error = decode(&envelope("apps/v1", "Deployment", Vec::new(), "")).expect_err("refused");
        assert!(error.is_unsupported());
        assert!(error.to_string().contains("apps/v1 Deployment"), "{error}");
    }

    #[test]
    fn a_compressed_object_is_unsupported() {
        let error = decode(&envelope("v1", "Namespace", Vec::new(), "gzip")).expect_err("refused");
        assert!(error.is_unsupported(), "{error}");
    }

    #[test]
    fn bytes_that_are_not_kubernetes_protobuf_are_a_bad_request() {
        for body in [&b"{\"kind\":\"Namespace\"}"[..], &b"k8s\x00\xff\xff\xff"[..]] {
            let error = decode(body).expect_err("refused");
            assert!(!error.is_unsupported(), "{error}");
        }
    }
}
