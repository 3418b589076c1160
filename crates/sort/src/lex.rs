//! Small RFC 5322 lexing helpers shared by the address and message-id parsers.

/// Skips white space and (nested) comments from `i`; returns the new index.
/// Nesting is counted, not recursed; an unclosed comment runs to the end.
pub(crate) fn skip_cfws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() {
        match s[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' => {
                let mut depth = 0usize;
                while i < s.len() {
                    match s[i] {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            _ => break,
        }
    }
    i.min(s.len())
}

/// Parses a quoted string starting at `s[i] == '"'`, appending its content
/// with quoting removed to `out`. Returns the index after the closing quote,
/// or `None` if it is not closed.
pub(crate) fn quoted_string(s: &[u8], i: usize, out: &mut Vec<u8>) -> Option<usize> {
    debug_assert_eq!(s.get(i), Some(&b'"'));
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'"' => return Some(j + 1),
            b'\\' => {
                out.push(*s.get(j + 1)?);
                j += 2;
            }
            // Folding inside a quoted string is not part of its value.
            b'\r' | b'\n' => j += 1,
            b => {
                out.push(b);
                j += 1;
            }
        }
    }
    None
}

/// Length of an atom-like run at `i`: bytes that are not white space, not
/// controls and not one of `specials`.
pub(crate) fn atom_len(s: &[u8], i: usize, specials: &[u8]) -> usize {
    s[i..]
        .iter()
        .take_while(|&&b| b > b' ' && b != 0x7f && !specials.contains(&b))
        .count()
}
