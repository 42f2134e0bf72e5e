//! Matching a parsed query against a file's metadata: the standard-analyzer-like tokenising of
//! names, exact tags and run ids, wildcards, and ranges on ids, sizes and times.

use super::{Bound, Field, FileFacts, Node};

/// Lower-cases and splits on anything that is not a letter or digit.
pub(crate) fn analyze(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn has_wildcard(word: &str) -> bool {
    word.contains(['*', '?'])
}

/// Glob match with `*` (any run) and `?` (one character).
pub(super) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn contains_sequence(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn name_matches(name: &str, value: &str, phrase: bool) -> bool {
    let tokens = analyze(name);
    if !phrase && has_wildcard(value) {
        let pattern = value.to_lowercase();
        return tokens.iter().any(|t| wildcard_match(&pattern, t))
            || wildcard_match(&pattern, &name.to_lowercase());
    }
    contains_sequence(&tokens, &analyze(value))
}

fn exact_matches(actual: &str, value: &str, phrase: bool) -> bool {
    if !phrase && has_wildcard(value) {
        wildcard_match(value, actual)
    } else {
        actual == value
    }
}

fn text_matches(field: Option<Field>, file: &FileFacts<'_>, value: &str, phrase: bool) -> bool {
    let tags = || file.tags.iter().any(|t| exact_matches(t, value, phrase));
    match field {
        None => {
            name_matches(file.name, value, phrase)
                || tags()
                || value.parse::<u64>().is_ok_and(|id| id == file.id)
        }
        Some(Field::Name) => name_matches(file.name, value, phrase),
        Some(Field::Tags) => tags(),
        Some(Field::RunId) => file.run_id.is_some_and(|r| exact_matches(r, value, phrase)),
        Some(Field::IsPublic) => value.eq_ignore_ascii_case(&file.is_public.to_string()),
        Some(Field::IsPermanent) => value.eq_ignore_ascii_case(&file.is_permanent.to_string()),
        Some(Field::IsEncrypted) => value.eq_ignore_ascii_case(&file.is_encrypted.to_string()),
        // Ordered fields are parsed into ranges.
        Some(Field::Id | Field::Size | Field::Created) => false,
    }
}

fn in_range(
    file: &FileFacts<'_>,
    field: Field,
    lower: Bound,
    lower_inclusive: bool,
    upper: Bound,
    upper_inclusive: bool,
) -> bool {
    if field == Field::Created {
        let t = file.created;
        let lower_ok = match lower {
            Bound::Time(start, end) => {
                if lower_inclusive {
                    t >= start
                } else {
                    t >= end
                }
            }
            _ => true,
        };
        let upper_ok = match upper {
            Bound::Time(start, end) => {
                if upper_inclusive {
                    t < end
                } else {
                    t < start
                }
            }
            _ => true,
        };
        return lower_ok && upper_ok;
    }
    let value = i128::from(if field == Field::Id {
        file.id
    } else {
        file.size_bytes
    });
    let lower_ok = match lower {
        Bound::Number(n) => {
            if lower_inclusive {
                value >= n
            } else {
                value > n
            }
        }
        _ => true,
    };
    let upper_ok = match upper {
        Bound::Number(n) => {
            if upper_inclusive {
                value <= n
            } else {
                value < n
            }
        }
        _ => true,
    };
    lower_ok && upper_ok
}

impl Node {
    pub(super) fn matches(&self, file: &FileFacts<'_>) -> bool {
        match self {
            Self::All => true,
            Self::Word(field, word) => text_matches(*field, file, word, false),
            Self::Phrase(field, phrase) => text_matches(*field, file, phrase, true),
            Self::Range {
                field,
                lower,
                lower_inclusive,
                upper,
                upper_inclusive,
            } => in_range(
                file,
                *field,
                *lower,
                *lower_inclusive,
                *upper,
                *upper_inclusive,
            ),
            Self::And(nodes) => nodes.iter().all(|n| n.matches(file)),
            Self::Not(node) => !node.matches(file),
            Self::Bool {
                must,
                should,
                must_not,
            } => {
                if must_not.iter().any(|n| n.matches(file)) {
                    return false;
                }
                if !must.is_empty() {
                    must.iter().all(|n| n.matches(file))
                } else if !should.is_empty() {
                    should.iter().any(|n| n.matches(file))
                } else {
                    true
                }
            }
        }
    }
}
