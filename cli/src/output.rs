//! Printing: short human lines and tables by default, the server's JSON (pretty-printed) with
//! `--json`. Writes ignore a closed pipe (`burstflare … | head`) instead of panicking, and token
//! values are never printed, not even in JSON.

use serde_json::Value;
use std::io::Write;

/// Response fields that carry secrets; `--json` shows them as `"<redacted>"` (the tokens are in
/// the config file, readable by its owner only).
const SECRET_FIELDS: &[&str] = &["token", "refreshToken", "csrfToken", "deviceCode"];

/// How the user asked to see results.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints `raw` with `--json`, else the human rendering.
    pub fn show(&self, raw: &Value, human: impl FnOnce() -> String) {
        if self.json {
            print_json(raw);
        } else {
            print(&human());
        }
    }

    /// A progress or hint line for people: stdout normally, stderr under `--json` so the JSON on
    /// stdout stays parseable.
    pub fn note(&self, text: &str) {
        if self.json {
            let _ = writeln!(std::io::stderr(), "{text}");
        } else {
            print(text);
        }
    }
}

/// Writes `text` (plus a newline unless it has one) to stdout.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Pretty-prints JSON (two-space indent) with secrets redacted.
pub fn print_json(raw: &Value) {
    let text = serde_json::to_string_pretty(&redact(raw)).expect("JSON values always serialise");
    print(&text);
}

/// `value` with every secret field's string replaced by `"<redacted>"`, at any depth.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let hidden = SECRET_FIELDS.contains(&k.as_str()) && v.is_string();
                    (k.clone(), if hidden { Value::from("<redacted>") } else { redact(v) })
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// A plain text table: a header row, then rows, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = vec![line(headers.to_vec())];
    out.extend(rows.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    out.join("\n")
}

/// Aligned `label  value` lines.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs.iter().map(|(k, v)| format!("{k:<width$}  {v}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_tokens_at_any_depth_and_keeps_the_rest() {
        let raw = json!({"token": "bfa_x", "user": {"email": "a@b.c"}, "list": [{"refreshToken": "bfr_y"}], "tokenKind": "api"});
        let shown = redact(&raw);
        assert_eq!(shown["token"], "<redacted>");
        assert_eq!(shown["list"][0]["refreshToken"], "<redacted>");
        assert_eq!(shown["user"]["email"], "a@b.c");
        assert_eq!(shown["tokenKind"], "api");
    }

    #[test]
    fn tables_pad_columns() {
        let rows = vec![vec!["ws_1".to_string(), "Ada's Workspace".to_string()], vec!["ws_22".into(), "B".into()]];
        assert_eq!(table(&["ID", "NAME"], &rows), "ID     NAME\nws_1   Ada's Workspace\nws_22  B");
    }

    #[test]
    fn fields_align_labels() {
        assert_eq!(fields(&[("a", "1".into()), ("long", "2".into())]), "a     1\nlong  2");
    }
}
