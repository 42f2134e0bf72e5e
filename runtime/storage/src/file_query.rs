//! The file query language: the subset of Elasticsearch `query_string` syntax that Keboola's
//! file listing accepts, parsed and matched against file metadata.
//!
//! Supported: `field:value`, `field: value`, quoted phrases, `AND` / `OR` / `NOT` (also `&&`,
//! `||`, `!`), `+`/`-` prefixes, implicit `OR` between clauses (Elasticsearch's default
//! operator), parentheses, field groups (`id:(1 OR 2)`), ranges (`created:["2024-01-01" TO *]`,
//! `{…}` exclusive), comparisons (`size:>=100`), and `*`/`?` wildcards. Fields: `id`, `name`,
//! `tags` (`tag`), `created`, `size` (`sizeBytes`), `runId`, `isPublic`, `isPermanent`,
//! `isEncrypted`; an unfielded term matches the name or a tag (or the id).
//!
//! `name` is analysed the way Elasticsearch's standard analyzer does for file names: lower-cased
//! and split on anything that is not a letter or digit, so `name:.zip` matches `fooBar.zip`.
//! A value that analyses to several tokens matches them as a phrase (adjacent, in order).
//! `tags` and `runId` match whole values exactly. Clause semantics follow Lucene's boolean
//! query: with any `+`/required clause the optional ones do not matter, and a query of only
//! negative clauses matches everything else.
//!
//! A hand-written parser instead of a search-engine crate: the grammar is small, matching runs
//! against a handful of metadata fields in memory (no index to build), and errors can name the
//! character position.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime};

use lexer::{Cmp, Kind, Token, lex};

mod lexer;
mod matching;

/// What a query sees of a file: the metadata fields it matches against. The query language
/// knows nothing else of files (so `files` can use queries without a dependency back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFacts<'a> {
    /// The file id.
    pub id: u64,
    /// The file name.
    pub name: &'a str,
    /// Its tags.
    pub tags: &'a [String],
    /// Upload time.
    pub created: OffsetDateTime,
    /// Size in bytes.
    pub size_bytes: u64,
    /// `is_public`.
    pub is_public: bool,
    /// `is_permanent`.
    pub is_permanent: bool,
    /// `is_encrypted`.
    pub is_encrypted: bool,
    /// The run id of the job that uploaded it.
    pub run_id: Option<&'a str>,
}

/// A parsed file query.
#[derive(Debug, Clone, PartialEq)]
pub struct FileQuery {
    root: Node,
}

/// Why a query does not parse: a message and the 1-based character position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// 1-based character position.
    pub position: usize,
    /// What was expected or found.
    pub message: String,
}

impl FileQuery {
    /// Parses a query.
    pub fn parse(query: &str) -> Result<Self, QueryError> {
        let tokens = lex(query)?;
        let mut parser = Parser {
            tokens,
            pos: 0,
            end: query.chars().count() + 1,
            depth: 0,
        };
        if parser.peek().is_none() {
            return Ok(Self { root: Node::All });
        }
        let root = parser.or_group(None)?;
        if let Some(token) = parser.peek() {
            return Err(QueryError {
                position: token.pos,
                message: format!("unexpected {}", token.kind.describe()),
            });
        }
        Ok(Self { root })
    }

    /// True when `file` matches.
    pub fn matches(&self, file: &FileFacts<'_>) -> bool {
        self.root.matches(file)
    }
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Name,
    Tags,
    Created,
    Size,
    RunId,
    IsPublic,
    IsPermanent,
    IsEncrypted,
}

const FIELD_NAMES: &str =
    "id, name, tags, created, size, runId, isPublic, isPermanent, isEncrypted";

impl Field {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "id" => Self::Id,
            "name" => Self::Name,
            "tags" | "tag" => Self::Tags,
            "created" => Self::Created,
            "size" | "sizeBytes" | "size_bytes" => Self::Size,
            "runId" | "run_id" => Self::RunId,
            "isPublic" | "is_public" => Self::IsPublic,
            "isPermanent" | "is_permanent" => Self::IsPermanent,
            "isEncrypted" | "is_encrypted" => Self::IsEncrypted,
            _ => return None,
        })
    }

    fn ordered(self) -> bool {
        matches!(self, Self::Id | Self::Size | Self::Created)
    }
}

/// A bound of a range on an ordered field.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    Unbounded,
    /// A number (id, size).
    Number(i128),
    /// A time interval `[start, end)`: a date covers the day, a timestamp one microsecond.
    Time(OffsetDateTime, OffsetDateTime),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    All,
    /// A single word (analysed for `name`), possibly with wildcards.
    Word(Option<Field>, String),
    /// A quoted phrase.
    Phrase(Option<Field>, String),
    /// `lower <= / < value <= / < upper`.
    Range {
        field: Field,
        lower: Bound,
        lower_inclusive: bool,
        upper: Bound,
        upper_inclusive: bool,
    },
    And(Vec<Node>),
    Not(Box<Node>),
    Bool {
        must: Vec<Node>,
        should: Vec<Node>,
        must_not: Vec<Node>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Occur {
    Should,
    Must,
    MustNot,
}

/// How deeply a query may nest: parentheses, field groups and `NOT`/`!`/`-`/`+` prefixes each
/// count a level. The parser (and matching) recurse once per level, so a configuration author's
/// `((((…` must not reach the end of the stack; real queries nest a handful of levels.
pub const MAX_QUERY_DEPTH: usize = 64;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_kind(&self) -> Option<&Kind> {
        self.peek().map(|t| &t.kind)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn here(&self) -> usize {
        self.peek().map_or(self.end, |t| t.pos)
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, QueryError> {
        Err(QueryError {
            position: self.here(),
            message: message.into(),
        })
    }

    fn unexpected<T>(&self, expected: &str) -> Result<T, QueryError> {
        match self.peek() {
            Some(t) => self.error(format!("expected {expected}, found {}", t.kind.describe())),
            None => self.error(format!("expected {expected}, found the end of the query")),
        }
    }

    /// Runs `parse` one nesting level deeper; fails past [`MAX_QUERY_DEPTH`].
    fn nested<T>(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        if self.depth >= MAX_QUERY_DEPTH {
            return self.error(format!(
                "the query nests deeper than {MAX_QUERY_DEPTH} levels (parentheses and NOT, !, -, + prefixes)"
            ));
        }
        self.depth += 1;
        let parsed = parse(self);
        self.depth -= 1;
        parsed
    }

    /// Clauses joined by `OR` or juxtaposition, up to `)` or the end.
    fn or_group(&mut self, field: Option<Field>) -> Result<Node, QueryError> {
        let mut must = Vec::new();
        let mut should = Vec::new();
        let mut must_not = Vec::new();
        loop {
            let (node, occur) = self.and_chain(field)?;
            match occur {
                Occur::Must => must.push(node),
                Occur::Should => should.push(node),
                Occur::MustNot => must_not.push(node),
            }
            match self.peek_kind() {
                None | Some(Kind::RParen) => break,
                Some(Kind::Or) => {
                    self.next();
                }
                _ => {}
            }
        }
        if must.is_empty() && must_not.is_empty() && should.len() == 1 {
            return Ok(should.remove(0));
        }
        if should.is_empty() && must_not.is_empty() && must.len() == 1 {
            return Ok(must.remove(0));
        }
        Ok(Node::Bool {
            must,
            should,
            must_not,
        })
    }

    /// `unary (AND unary)*`.
    fn and_chain(&mut self, field: Option<Field>) -> Result<(Node, Occur), QueryError> {
        let first = self.unary(field)?;
        if self.peek_kind() != Some(&Kind::And) {
            return Ok(first);
        }
        let mut nodes = vec![as_node(first)];
        while self.peek_kind() == Some(&Kind::And) {
            self.next();
            let operand = self.unary(field)?;
            nodes.push(as_node(operand));
        }
        Ok((Node::And(nodes), Occur::Should))
    }

    fn unary(&mut self, field: Option<Field>) -> Result<(Node, Occur), QueryError> {
        match self.peek_kind() {
            Some(Kind::Not) | Some(Kind::Minus) => {
                self.next();
                let (node, _) = self.nested(|p| p.unary(field))?;
                Ok((node, Occur::MustNot))
            }
            Some(Kind::Plus) => {
                self.next();
                let (node, occur) = self.nested(|p| p.unary(field))?;
                Ok((
                    node,
                    if occur == Occur::MustNot {
                        occur
                    } else {
                        Occur::Must
                    },
                ))
            }
            _ => Ok((self.primary(field)?, Occur::Should)),
        }
    }

    fn primary(&mut self, field: Option<Field>) -> Result<Node, QueryError> {
        let Some(token) = self.peek().cloned() else {
            return self.unexpected("a term");
        };
        match token.kind {
            Kind::LParen => {
                self.next();
                self.nested(|p| {
                    let node = p.or_group(field)?;
                    p.expect_rparen()?;
                    Ok(node)
                })
            }
            Kind::Word(word)
                if self.tokens.get(self.pos + 1).map(|t| &t.kind) == Some(&Kind::Colon) =>
            {
                if field.is_some() {
                    return self.error("a field cannot be given inside a field group");
                }
                let Some(named) = Field::parse(&word) else {
                    return self.error(format!("unknown field \"{word}\" (known: {FIELD_NAMES})"));
                };
                self.next();
                self.next();
                self.field_value(named)
            }
            Kind::Word(word) => {
                self.next();
                value_node(field, word, token.pos)
            }
            Kind::Phrase(phrase) => {
                self.next();
                Ok(Node::Phrase(field, phrase))
            }
            _ => self.unexpected("a term, a phrase or '('"),
        }
    }

    fn expect_rparen(&mut self) -> Result<(), QueryError> {
        if self.peek_kind() == Some(&Kind::RParen) {
            self.next();
            Ok(())
        } else {
            self.unexpected("')'")
        }
    }

    fn field_value(&mut self, field: Field) -> Result<Node, QueryError> {
        let Some(token) = self.peek().cloned() else {
            return self.unexpected("a value after ':'");
        };
        match token.kind {
            Kind::LParen => {
                self.next();
                self.nested(|p| {
                    let node = p.or_group(Some(field))?;
                    p.expect_rparen()?;
                    Ok(node)
                })
            }
            Kind::LBracket | Kind::LBrace => self.range(field),
            Kind::Cmp(cmp) => {
                self.next();
                if !field.ordered() {
                    return Err(QueryError {
                        position: token.pos,
                        message: "comparisons work on id, size and created only".into(),
                    });
                }
                let pos = self.here();
                let value = self.bound_text()?;
                let bound = parse_bound(field, &value, pos)?;
                let (lower, lower_inclusive, upper, upper_inclusive) = match cmp {
                    Cmp::Gt => (bound, false, Bound::Unbounded, true),
                    Cmp::Gte => (bound, true, Bound::Unbounded, true),
                    Cmp::Lt => (Bound::Unbounded, true, bound, false),
                    Cmp::Lte => (Bound::Unbounded, true, bound, true),
                };
                Ok(Node::Range {
                    field,
                    lower,
                    lower_inclusive,
                    upper,
                    upper_inclusive,
                })
            }
            Kind::Word(word) => {
                self.next();
                value_node(Some(field), word, token.pos)
            }
            Kind::Phrase(phrase) => {
                self.next();
                if field.ordered() {
                    let bound = parse_bound(field, &phrase, token.pos)?;
                    return Ok(exact(field, bound));
                }
                Ok(Node::Phrase(Some(field), phrase))
            }
            _ => self.unexpected("a value after ':'"),
        }
    }

    fn bound_text(&mut self) -> Result<String, QueryError> {
        match self.peek().cloned().map(|t| t.kind) {
            Some(Kind::Word(w)) => {
                self.next();
                Ok(w)
            }
            Some(Kind::Phrase(p)) => {
                self.next();
                Ok(p)
            }
            _ => self.unexpected("a range bound"),
        }
    }

    fn range(&mut self, field: Field) -> Result<Node, QueryError> {
        if !field.ordered() {
            return self.error("ranges work on id, size and created only");
        }
        let open = self.next().map(|t| t.kind);
        let lower_inclusive = open == Some(Kind::LBracket);
        let pos = self.here();
        let text = self.bound_text()?;
        let lower = parse_bound(field, &text, pos)?;
        match self.peek_kind() {
            Some(Kind::Word(w)) if w == "TO" => {
                self.next();
            }
            _ => return self.unexpected("TO"),
        }
        let pos = self.here();
        let text = self.bound_text()?;
        let upper = parse_bound(field, &text, pos)?;
        let upper_inclusive = match self.peek_kind() {
            Some(Kind::RBracket) => true,
            Some(Kind::RBrace) => false,
            _ => return self.unexpected("']' or '}'"),
        };
        self.next();
        Ok(Node::Range {
            field,
            lower,
            lower_inclusive,
            upper,
            upper_inclusive,
        })
    }
}

fn as_node((node, occur): (Node, Occur)) -> Node {
    if occur == Occur::MustNot {
        Node::Not(Box::new(node))
    } else {
        node
    }
}

fn exact(field: Field, bound: Bound) -> Node {
    Node::Range {
        field,
        lower: bound,
        lower_inclusive: true,
        upper: bound,
        upper_inclusive: true,
    }
}

/// A bare word: `*` matches everything; on ordered fields it is an exact value; on booleans it
/// must be `true` or `false`.
fn value_node(field: Option<Field>, word: String, pos: usize) -> Result<Node, QueryError> {
    if word == "*" {
        return Ok(Node::All);
    }
    match field {
        Some(f) if f.ordered() => Ok(exact(f, parse_bound(f, &word, pos)?)),
        Some(Field::IsPublic | Field::IsPermanent | Field::IsEncrypted) => {
            if word == "true" || word == "false" {
                Ok(Node::Word(field, word))
            } else {
                Err(QueryError {
                    position: pos,
                    message: format!("expected true or false, found \"{word}\""),
                })
            }
        }
        _ => Ok(Node::Word(field, word)),
    }
}

fn parse_bound(field: Field, text: &str, pos: usize) -> Result<Bound, QueryError> {
    if text == "*" {
        return Ok(Bound::Unbounded);
    }
    let err = |what: &str| QueryError {
        position: pos,
        message: format!("expected {what}, found \"{text}\""),
    };
    match field {
        Field::Created => {
            parse_time(text).ok_or_else(|| err("a date (YYYY-MM-DD) or an RFC 3339 time"))
        }
        _ => text
            .parse::<i128>()
            .map(Bound::Number)
            .map_err(|_| err("a number")),
    }
}

fn parse_time(text: &str) -> Option<Bound> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(Bound::Time(t, t + Duration::microseconds(1)));
    }
    let with_time = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    if let Ok(t) = PrimitiveDateTime::parse(&text.replacen('T', " ", 1), with_time) {
        let t = t.assume_utc();
        return Some(Bound::Time(t, t + Duration::seconds(1)));
    }
    let date_only = format_description!("[year]-[month]-[day]");
    let date = Date::parse(text, date_only).ok()?;
    let start = date.midnight().assume_utc();
    Some(Bound::Time(start, start + Duration::days(1)))
}

#[cfg(test)]
mod tests {
    use super::matching::{analyze, wildcard_match};
    use super::*;
    use time::macros::datetime;

    struct File {
        id: u64,
        name: String,
        tags: Vec<String>,
        created: OffsetDateTime,
        run_id: String,
    }

    impl File {
        fn facts(&self) -> FileFacts<'_> {
            FileFacts {
                id: self.id,
                name: &self.name,
                tags: &self.tags,
                created: self.created,
                size_bytes: self.id * 100,
                is_public: self.id.is_multiple_of(2),
                is_permanent: false,
                is_encrypted: true,
                run_id: Some(&self.run_id),
            }
        }
    }

    fn file(id: u64, name: &str, tags: &[&str], created: OffsetDateTime) -> File {
        File {
            id,
            name: name.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            created,
            run_id: format!("run-{id}"),
        }
    }

    #[test]
    fn nesting_is_bounded_and_named() {
        // At the limit: parses and matches.
        let deep = |n: usize, open: &str, close: &str| {
            format!("{}name:foo{}", open.repeat(n), close.repeat(n))
        };
        let f = file(1, "foo.csv", &[], datetime!(2024-01-01 0:00 UTC));
        assert!(
            FileQuery::parse(&deep(MAX_QUERY_DEPTH, "(", ")"))
                .unwrap()
                .matches(&f.facts())
        );
        assert!(
            !FileQuery::parse(&deep(MAX_QUERY_DEPTH, "NOT ", ""))
                .unwrap()
                .matches(&f.facts())
        );
        // Past it, in every way a query can nest, far past it too: an error, not a crashed stack.
        for query in [
            deep(MAX_QUERY_DEPTH + 1, "(", ")"),
            deep(MAX_QUERY_DEPTH + 1, "NOT ", ""),
            deep(100_000, "(", ")"),
            deep(100_000, "NOT ", ""),
            deep(100_000, "!", ""),
            deep(100_000, "-", ""),
            deep(100_000, "+", ""),
            format!("tags:{}a{}", "(".repeat(100_000), ")".repeat(100_000)),
        ] {
            let err = FileQuery::parse(&query).unwrap_err();
            assert!(
                err.message.contains("nests deeper than 64 levels"),
                "{}",
                err.message
            );
        }
    }

    fn files() -> Vec<File> {
        vec![
            file(
                1,
                "fooBar.zip",
                &["docker-demo", "toprocess"],
                datetime!(2023-12-31 23:59:59 UTC),
            ),
            file(
                2,
                "fooBarBaz.zip",
                &["docker-demo", "toprocess", "downloaded"],
                datetime!(2024-01-01 00:00:00 UTC),
            ),
            file(
                3,
                "report 2024.csv",
                &["reports"],
                datetime!(2024-02-10 12:00:00 UTC),
            ),
            file(
                4,
                "data.tar.gz",
                &["toprocess"],
                datetime!(2024-03-01 08:30:00 UTC),
            ),
        ]
    }

    fn ids(query: &str) -> Vec<u64> {
        let q = FileQuery::parse(query).unwrap_or_else(|e| panic!("{query}: {e:?}"));
        files()
            .iter()
            .filter(|f| q.matches(&f.facts()))
            .map(|f| f.id)
            .collect()
    }

    #[test]
    fn analyzes_like_the_standard_analyzer() {
        assert_eq!(analyze("fooBar.zip"), ["foobar", "zip"]);
        assert_eq!(analyze(".zip"), ["zip"]);
        assert_eq!(analyze("report 2024.csv"), ["report", "2024", "csv"]);
    }

    #[test]
    fn field_values_and_phrases() {
        assert_eq!(ids("name:.zip"), [1, 2]);
        assert_eq!(ids("name:zip"), [1, 2]);
        assert_eq!(ids("name: foobar"), [1]);
        assert_eq!(ids("name:\"report 2024\""), [3]);
        assert_eq!(ids("name:\"2024 report\""), Vec::<u64>::new());
        assert_eq!(ids("name:foo*"), [1, 2]);
        assert_eq!(ids("tags:reports"), [3]);
        assert_eq!(ids("tags:\"docker-demo\""), [1, 2]);
        assert_eq!(ids("tags:report"), Vec::<u64>::new());
        assert_eq!(ids("runId:run-3"), [3]);
        assert_eq!(ids("isPublic:true"), [2, 4]);
        assert_eq!(ids("zip"), [1, 2]);
        assert_eq!(ids("reports"), [3]);
        assert_eq!(ids("*"), [1, 2, 3, 4]);
        assert_eq!(ids(""), [1, 2, 3, 4]);
    }

    #[test]
    fn boolean_operators() {
        assert_eq!(ids("tags: toprocess AND NOT tags: downloaded"), [1, 4]);
        assert_eq!(ids("tags:toprocess && !tags:downloaded"), [1, 4]);
        assert_eq!(ids("tags:reports OR name:gz"), [3, 4]);
        assert_eq!(ids("tags:reports name:gz"), [3, 4]);
        assert_eq!(ids("tags:toprocess -tags:downloaded"), [1, 4]);
        assert_eq!(ids("+tags:toprocess name:zip"), [1, 2, 4]);
        assert_eq!(ids("NOT tags:toprocess"), [3]);
        assert_eq!(ids("(name:zip OR name:csv) AND NOT id:1"), [2, 3]);
        assert_eq!(ids("tags:(reports OR downloaded)"), [2, 3]);
    }

    #[test]
    fn ids_sizes_and_dates() {
        assert_eq!(ids("id:(1 OR 2)"), [1, 2]);
        assert_eq!(ids("id:3"), [3]);
        assert_eq!(ids("id:[2 TO 3]"), [2, 3]);
        assert_eq!(ids("id:{2 TO *]"), [3, 4]);
        assert_eq!(ids("size:>=300"), [3, 4]);
        assert_eq!(ids("size:<200"), [1]);
        assert_eq!(ids("created:[\"2024-01-01\" TO *]"), [2, 3, 4]);
        assert_eq!(ids("created:[* TO \"2024-01-01\"]"), [1, 2]);
        assert_eq!(ids("created:[* TO 2024-01-01}"), [1]);
        assert_eq!(ids("created:{2024-01-01 TO *]"), [3, 4]);
        assert_eq!(ids("created:2024-02-10"), [3]);
        assert_eq!(ids("created:>=\"2024-02-10T12:00:00Z\""), [3, 4]);
        assert_eq!(ids("created:>\"2024-02-10T12:00:00Z\""), [4]);
    }

    #[test]
    fn errors_name_the_position() {
        let cases = [
            ("name:", 6, "expected a value"),
            ("(name:zip", 10, "expected ')'"),
            ("name:zip)", 9, "unexpected ')'"),
            ("foo:bar", 1, "unknown field \"foo\""),
            ("id:abc", 4, "expected a number"),
            ("created:[2024-13-01 TO *]", 10, "expected a date"),
            ("id:[1 2]", 7, "expected TO"),
            ("name:\"zip", 6, "unterminated quoted phrase"),
            ("name:zip AND", 13, "expected a term"),
            ("name:[a TO b]", 6, "ranges work on"),
            ("name:zip^2", 9, "not supported"),
            ("isPublic:maybe", 10, "expected true or false"),
        ];
        for (query, position, needle) in cases {
            let err = FileQuery::parse(query).unwrap_err();
            assert!(err.message.contains(needle), "{query}: {err:?}");
            assert_eq!(err.position, position, "{query}: {err:?}");
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("f*r", "foobar"));
        assert!(wildcard_match("f?o", "foo"));
        assert!(!wildcard_match("f?o", "fooo"));
        assert!(wildcard_match("*", ""));
    }
}
