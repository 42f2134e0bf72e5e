//! Column-name sanitising ("webalize", reference §3.5): what output mapping does to the names in
//! `columns`, `primary_key`, `column_metadata` keys and `schema[].name` before loading.
//!
//! 1. transliterate to ASCII (Latin letters lose their diacritics; what has no ASCII form is
//!    dropped);
//! 2. replace each run of characters outside `[A-Za-z0-9_]` with `_`;
//! 3. trim `_` from both ends;
//! 4. append `_` to the system names `oid`, `tableoid`, `xmin`, `cmin`, `xmax`, `cmax`, `ctid`.
//!
//! `_timestamp` (any case) is left alone: output mapping rejects it instead.

/// Names Storage reserves; a column named like one gets a `_` suffix.
const SYSTEM_NAMES: [&str; 7] = ["oid", "tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"];

/// The sanitised form of a column name.
///
/// ```
/// use berth_staging::webalize::webalize;
/// assert_eq!(webalize("_~dlažební  %_kostky_~"), "dlazebni__kostky");
/// assert_eq!(webalize("test@domain.com"), "test_domain_com");
/// assert_eq!(webalize("OID"), "OID_");
/// ```
pub fn webalize(name: &str) -> String {
    if is_timestamp(name) {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    let mut push = |a: char, out: &mut String| {
        if a.is_ascii_alphanumeric() || a == '_' {
            out.push(a);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    };
    for c in name.chars() {
        if c.is_ascii() {
            push(c, &mut out);
            continue;
        }
        // Without an ASCII form the character counts as one outside the allowed set.
        match transliterate(c) {
            Some(ascii) => ascii.chars().for_each(|a| push(a, &mut out)),
            None => push(' ', &mut out),
        }
    }
    let mut result = out.trim_matches('_').to_owned();
    if SYSTEM_NAMES.contains(&result.to_ascii_lowercase().as_str()) {
        result.push('_');
    }
    result
}

/// Whether `name` is the system column `_timestamp` (case-insensitive).
pub fn is_timestamp(name: &str) -> bool {
    name.eq_ignore_ascii_case("_timestamp")
}

/// The ASCII form of a non-ASCII Latin letter with a diacritic (or a ligature), if it has one.
fn transliterate(c: char) -> Option<&'static str> {
    LATIN
        .iter()
        .find(|(chars, _)| chars.contains(c))
        .map(|(_, ascii)| *ascii)
}

/// Latin letters with diacritics and ligatures, grouped by their ASCII form.
const LATIN: &[(&str, &str)] = &[
    ("àáâãäåāăą", "a"),
    ("ÀÁÂÃÄÅĀĂĄ", "A"),
    ("æ", "ae"),
    ("Æ", "AE"),
    ("çćĉċč", "c"),
    ("ÇĆĈĊČ", "C"),
    ("ďđð", "d"),
    ("ĎĐÐ", "D"),
    ("èéêëēĕėęě", "e"),
    ("ÈÉÊËĒĔĖĘĚ", "E"),
    ("ĝğġģ", "g"),
    ("ĜĞĠĢ", "G"),
    ("ĥħ", "h"),
    ("ĤĦ", "H"),
    ("ìíîïĩīĭįı", "i"),
    ("ÌÍÎÏĨĪĬĮİ", "I"),
    ("ĵ", "j"),
    ("Ĵ", "J"),
    ("ķ", "k"),
    ("Ķ", "K"),
    ("ĺļľŀł", "l"),
    ("ĹĻĽĿŁ", "L"),
    ("ñńņňŉ", "n"),
    ("ÑŃŅŇ", "N"),
    ("òóôõöøōŏő", "o"),
    ("ÒÓÔÕÖØŌŎŐ", "O"),
    ("œ", "oe"),
    ("Œ", "OE"),
    ("ŕŗř", "r"),
    ("ŔŖŘ", "R"),
    ("śŝşšș", "s"),
    ("ŚŜŞŠȘ", "S"),
    ("ß", "ss"),
    ("ţťŧț", "t"),
    ("ŢŤŦȚ", "T"),
    ("ùúûüũūŭůűų", "u"),
    ("ÙÚÛÜŨŪŬŮŰŲ", "U"),
    ("ŵ", "w"),
    ("Ŵ", "W"),
    ("ýÿŷ", "y"),
    ("ÝŸŶ", "Y"),
    ("źżž", "z"),
    ("ŹŻŽ", "Z"),
    ("þ", "th"),
    ("Þ", "TH"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_examples() {
        for (input, expected) in [
            ("_~dlažební  %_kostky_~", "dlazebni__kostky"),
            ("jp日本語", "jp"),
            ("   ", ""),
            ("__test__", "test"),
            ("test@domain.com", "test_domain_com"),
            ("OID", "OID_"),
            ("ctid", "ctid_"),
            ("ěščřžýáíéúů", "escrzyaieuu"),
            ("webalize | test 😁", "webalize_test"),
            ("_timestamp", "_timestamp"),
            ("Id", "Id"),
        ] {
            assert_eq!(webalize(input), expected, "{input:?}");
        }
    }
}
