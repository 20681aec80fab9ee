//! The ControllerRevision `data` bytes kube-controller-manager's DaemonSet `getPatch` produces (pure).

use serde_json::Value;

use super::go_json::{sorted_entries, write_entry, write_string};

/// The key getPatch adds to the template; Go's map assignment overwrites any existing one.
const PATCH_KEY: &str = "$patch";
const PATCH_VALUE: &str = "replace";

/// Returns `{"spec":{"template":{"$patch":"replace",...}}}` byte-for-byte as
/// kube-controller-manager's `getPatch` writes it for a DaemonSet whose `spec.template`,
/// as Go's typed `json.Marshal` emits it, is `template`.
///
/// A non-object `template` is treated as an empty object; Go would panic on its type
/// assertion instead, so such input never matches a real revision anyway.
pub fn template_patch(template: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(br#"{"spec":{"template":{"#);
    let mut first = true;
    let mut patch_written = false;
    if let Value::Object(map) = template {
        // Merging the extra key into the sorted walk keeps Go's key order without cloning
        // the template: `$` (0x24) sorts before letters but after e.g. `!` and `#`.
        for (key, value) in sorted_entries(map) {
            if key == PATCH_KEY {
                continue;
            }
            if !patch_written && key.as_str() > PATCH_KEY {
                write_patch_entry(&mut first, &mut out);
                patch_written = true;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            write_entry(key, value, &mut out);
        }
    }
    if !patch_written {
        write_patch_entry(&mut first, &mut out);
    }
    out.extend_from_slice(b"}}}");
    out
}

fn write_patch_entry(first: &mut bool, out: &mut Vec<u8>) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    write_string(PATCH_KEY, out);
    out.push(b':');
    write_string(PATCH_VALUE, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(template: &Value) -> String {
        String::from_utf8(template_patch(template)).expect("patch output is UTF-8")
    }

    #[test]
    fn patch_key_leads_a_typical_template() {
        let template = json!({
            "metadata": {"labels": {"app": "x"}, "creationTimestamp": null},
            "spec": {"containers": [{"name": "c", "image": "i", "resources": {}}]}
        });
        assert_eq!(
            patch(&template),
            concat!(
                r#"{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"x"}},"#,
                r#""spec":{"containers":[{"image":"i","name":"c","resources":{}}]}}}}"#
            )
        );
    }

    #[test]
    fn empty_or_non_object_template_holds_only_the_patch_key() {
        let expected = r#"{"spec":{"template":{"$patch":"replace"}}}"#;
        assert_eq!(patch(&json!({})), expected);
        assert_eq!(patch(&Value::Null), expected);
        assert_eq!(patch(&json!([1, 2])), expected);
    }

    #[test]
    fn keys_sorting_before_the_patch_key_stay_in_front() {
        let template = json!({"a": 1, "!x": 2, "#": 3, "$": 4, "$pat": 5, "$patch0": 6, "%": 7, "A": 8});
        assert_eq!(
            patch(&template),
            r##"{"spec":{"template":{"!x":2,"#":3,"$":4,"$pat":5,"$patch":"replace","$patch0":6,"%":7,"A":8,"a":1}}}"##
        );
    }

    #[test]
    fn only_keys_before_the_patch_key_put_it_last() {
        let template = json!({"!": 1, "#": 2});
        assert_eq!(
            patch(&template),
            r##"{"spec":{"template":{"!":1,"#":2,"$patch":"replace"}}}"##
        );
    }

    #[test]
    fn an_existing_patch_key_is_overwritten() {
        let template = json!({"$patch": "merge", "metadata": {}});
        assert_eq!(
            patch(&template),
            r#"{"spec":{"template":{"$patch":"replace","metadata":{}}}}"#
        );
    }
}
