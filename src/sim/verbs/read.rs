//! The read verbs: get, list (paged, or as a Table for kubectl) and watch (no I/O; `sim::watch` streams events).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Request, header_text};
use crate::sim::errors::ApiError;
use crate::sim::response::json_response;
use crate::sim::selectors::{FieldQuery, LabelQuery};
use crate::sim::stored::StoredObject;
use crate::sim::table;
use crate::sim::views;
use crate::sim::watch::{self, WatchRequest};

impl Request<'_> {
    fn flag(&self, name: &str) -> bool {
        self.params.get(name).is_some_and(|v| v == "true" || v == "1")
    }

    fn selectors(&self) -> Result<(LabelQuery, FieldQuery), ApiError> {
        let labels = LabelQuery::parse(self.params.get("labelSelector").map(String::as_str).unwrap_or_default())
            .map_err(ApiError::bad_request)?;
        let fields = FieldQuery::parse(self.params.get("fieldSelector").map(String::as_str).unwrap_or_default())
            .map_err(ApiError::bad_request)?;
        Ok((labels, fields))
    }

    fn wants_table(&self) -> bool {
        table::wants_table(&header_text(&self.headers, header::ACCEPT))
    }

    /// GET: one object when the path names one, else a watch or a list of the collection.
    pub(super) async fn get(self) -> Result<Response, ApiError> {
        if let Some(name) = &self.target.name {
            return self.get_object(name);
        }
        if self.flag("watch") {
            return self.watch();
        }
        self.list()
    }

    fn get_object(&self, name: &str) -> Result<Response, ApiError> {
        let resource = self.resource();
        let stored = self
            .state
            .store
            .get_stored(resource, self.namespace(), name)
            .ok_or_else(|| ApiError::not_found(resource, name))?;
        if self.target.subresource.as_deref().is_some_and(|s| s != "status") {
            return Err(ApiError::method_not_allowed("GET is not supported on this subresource"));
        }
        if self.wants_table() {
            let version = self.state.store.resource_version();
            let object = views::to_view(resource, stored.value());
            return Ok(json_response(
                StatusCode::OK,
                &table::table(resource, &[&object], version, false, chrono::Utc::now()),
            ));
        }
        Ok(json_text_response(views::view_json(resource, &stored).into_owned()))
    }

    fn list(&self) -> Result<Response, ApiError> {
        let resource = self.resource();
        let (labels, fields) = self.selectors()?;
        let (stored, resource_version) = self.state.store.list_stored(resource, self.target.namespace.as_deref());
        // Trees only where a selector, a Table or a view needs them; else the stored text is written out.
        let parse = self.wants_table() || !labels.is_empty() || !fields.is_empty() || !views::is_own_storage(resource);
        let items: Vec<(&StoredObject, Option<Value>)> = stored
            .iter()
            .map(|object| (object.as_ref(), parse.then(|| views::to_view(resource, object.value()))))
            .filter(|(_, object)| {
                object
                    .as_ref()
                    .is_none_or(|o| labels.matches(o.pointer("/metadata/labels")) && fields.matches(o))
            })
            .collect();
        // Pagination: the continue token is the offset of the next item.
        let offset: usize = self.params.get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
        let limit: Option<usize> = self.params.get("limit").and_then(|l| l.parse().ok()).filter(|l| *l > 0);
        let end = limit.map_or(items.len(), |limit| (offset + limit).min(items.len()));
        let page = items.get(offset.min(items.len())..end).unwrap_or_default();
        let mut metadata = json!({"resourceVersion": resource_version.to_string()});
        if end < items.len() {
            metadata["continue"] = json!(end.to_string());
            metadata["remainingItemCount"] = json!(items.len() - end);
        }
        if self.wants_table() {
            let include_object = self.params.get("includeObject").is_some_and(|v| v == "Object");
            let objects: Vec<&Value> = page.iter().filter_map(|(_, object)| object.as_ref()).collect();
            let mut response = table::table(resource, &objects, resource_version, include_object, chrono::Utc::now());
            response["metadata"] = metadata;
            return Ok(json_response(StatusCode::OK, &response));
        }
        // Written from the stored text: a list of thousands of objects is neither parsed nor copied first.
        let mut body =
            String::with_capacity(page.iter().map(|(stored, _)| stored.json().len() + 1).sum::<usize>() + 256);
        body.push_str(&format!(
            "{{\"kind\":{},\"apiVersion\":{},\"metadata\":{metadata},\"items\":[",
            json!(resource.list_kind()),
            json!(resource.api_version())
        ));
        for (index, (stored, object)) in page.iter().enumerate() {
            if index > 0 {
                body.push(',');
            }
            match object {
                Some(view) if !views::is_own_storage(resource) => write_list_item(view, &mut body)?,
                _ => stored.write_list_item(&mut body),
            }
        }
        body.push_str("]}");
        Ok(json_text_response(body))
    }

    fn watch(self) -> Result<Response, ApiError> {
        let resource = self.resource();
        let (labels, fields) = self.selectors()?;
        let from = match self.params.get("resourceVersion").map(String::as_str) {
            None | Some("") => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {text:?}")))?,
            ),
        };
        let request = WatchRequest {
            resource,
            namespace: self.target.namespace.clone(),
            labels,
            fields,
            timeout: {
                let asked = self
                    .params
                    .get("timeoutSeconds")
                    .and_then(|t| t.parse().ok())
                    .map(Duration::from_secs);
                match (asked, self.drop_watch_after) {
                    (Some(asked), Some(drop)) => Some(asked.min(drop)),
                    (asked, drop) => asked.or(drop),
                }
            },
            bookmarks: self.flag("allowWatchBookmarks"),
            table: self.wants_table(),
        };
        let content_type = if request.table {
            "application/json;as=Table;v=v1;g=meta.k8s.io"
        } else {
            "application/json"
        };
        if self.drop_watch_after.is_some() {
            self.state.faults.note_dropped_watch();
        }
        let started = if self.expire_resume && from.is_some_and(|rv| rv > 0) {
            self.state.faults.note_expired_resume();
            Err(ApiError::expired(
                from.unwrap_or_default(),
                self.state.store.resource_version(),
            ))
        } else {
            self.state.store.watch(resource, self.target.namespace.as_deref(), from)
        };
        match started {
            // kube-apiserver answers an expired resourceVersion with 200 and one ERROR event.
            Err(error) if error.code == 410 => {
                let line = format!("{}\n", json!({"type": "ERROR", "object": error.to_status()}));
                Ok(([(header::CONTENT_TYPE, content_type)], line).into_response())
            }
            Err(error) => Err(error),
            Ok(start) => {
                let body = Body::from_stream(watch::stream(Arc::clone(&self.state.store), request, start));
                Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
            }
        }
    }
}

fn json_text_response(body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Appends a view's object as a list item (`ListItem`).
fn write_list_item(object: &Value, out: &mut String) -> Result<(), ApiError> {
    let item = serde_json::to_string(&ListItem(object))
        .map_err(|error| ApiError::status(500, format!("cannot encode the list: {error}")))?;
    out.push_str(&item);
    Ok(())
}

/// A list item as kube-apiserver serialises a built-in kind's list: without `apiVersion` and
/// `kind`, which only the list carries.
struct ListItem<'a>(&'a Value);

impl serde::Serialize for ListItem<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Value::Object(fields) = self.0 else {
            return self.0.serialize(serializer);
        };
        let kept = fields
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "apiVersion" | "kind"));
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in kept {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}
