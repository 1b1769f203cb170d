//! PTX text to a flat list of items: statements (up to `;`, or an entry header up to its `{`),
//! labels, and the braces that open and close functions and register scopes, each with the
//! line it starts on. Comments are dropped here.

use crate::error::ParseError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Stmt(String),
    Label(String),
    Open,
    Close,
}

/// `(line, item)` in text order.
pub fn scan(text: &str) -> Result<Vec<(u32, Item)>, ParseError> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut cur_line = 0u32;
    // Depth of `{` inside the current statement (vector operands).
    let mut inner = 0usize;
    let mut in_block_comment = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i as u32 + 1;
        let code = strip_comments(raw, &mut in_block_comment);
        let trimmed = code.trim();
        // Module directives that end at the end of the line, without a `;`.
        if cur.trim().is_empty() && [".version", ".target", ".address_size"].iter().any(|d| trimmed.starts_with(d)) {
            items.push((line, Item::Stmt(trimmed.to_string())));
            continue;
        }
        let chars: Vec<char> = code.chars().collect();
        let mut k = 0;
        while k < chars.len() {
            let c = chars[k];
            if cur.trim().is_empty() && !c.is_whitespace() {
                cur_line = line;
            }
            match c {
                ';' if inner == 0 => {
                    let s = cur.trim().to_string();
                    if !s.is_empty() {
                        items.push((cur_line, Item::Stmt(s)));
                    }
                    cur.clear();
                }
                '{' if inner == 0 && cur.trim().is_empty() => items.push((line, Item::Open)),
                '{' if inner == 0 && is_header(cur.trim()) => {
                    items.push((cur_line, Item::Stmt(cur.trim().to_string())));
                    cur.clear();
                    items.push((line, Item::Open));
                }
                '{' => {
                    inner += 1;
                    cur.push(c);
                }
                '}' if inner > 0 => {
                    inner -= 1;
                    cur.push(c);
                }
                '}' => {
                    if !cur.trim().is_empty() {
                        return Err(ParseError {
                            line,
                            message: format!("`}}` ends an unfinished statement `{}`", cur.trim()),
                        });
                    }
                    items.push((line, Item::Close));
                }
                ':' if inner == 0 && is_label(cur.trim()) && chars.get(k + 1) != Some(&':') => {
                    items.push((cur_line, Item::Label(cur.trim().to_string())));
                    cur.clear();
                }
                _ => cur.push(c),
            }
            k += 1;
        }
        cur.push('\n');
    }
    if !cur.trim().is_empty() {
        return Err(ParseError { line: cur_line, message: format!("unterminated statement `{}`", cur.trim()) });
    }
    Ok(items)
}

fn is_header(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    words.iter().take(3).any(|w| *w == ".entry" || *w == ".func")
}

fn is_label(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '$' || c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '$' || c == '_' || c.is_ascii_alphanumeric())
}

fn strip_comments(line: &str, in_block: &mut bool) -> String {
    let mut out = String::new();
    let b = line.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < b.len() {
        if *in_block {
            if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                *in_block = false;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        if b[i] == b'"' {
            in_string = !in_string;
        }
        if !in_string && b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            break;
        }
        if !in_string && b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            *in_block = true;
            i += 2;
            continue;
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_labels_scopes_and_vectors() {
        let text = ".version 8.0\n.target sm_90a\n.visible .entry k(\n .param .u64 k_param_0\n)\n{\n\
                    .reg .b32 %r<3>; // regs\n$L__BB0_1:\n ld.global.v2.b32 {%r1, %r2}, [%rd1];\n\
                    { .reg .pred p; setp.ne.b32 p, %r1, 0; }\n fence.proxy.async.shared::cta;\n ret;\n}\n";
        let items = scan(text).unwrap();
        let kinds: Vec<String> = items
            .iter()
            .map(|(l, i)| match i {
                Item::Stmt(s) => format!("{l}:S {s}"),
                Item::Label(s) => format!("{l}:L {s}"),
                Item::Open => format!("{l}:{{"),
                Item::Close => format!("{l}:}}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "1:S .version 8.0",
                "2:S .target sm_90a",
                "3:S .visible .entry k(\n .param .u64 k_param_0\n)",
                "6:{",
                "7:S .reg .b32 %r<3>",
                "8:L $L__BB0_1",
                "9:S ld.global.v2.b32 {%r1, %r2}, [%rd1]",
                "10:{",
                "10:S .reg .pred p",
                "10:S setp.ne.b32 p, %r1, 0",
                "10:}",
                "11:S fence.proxy.async.shared::cta",
                "12:S ret",
                "13:}",
            ]
        );
    }
}
