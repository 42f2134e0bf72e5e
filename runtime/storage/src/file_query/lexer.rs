//! The query lexer: words, quoted phrases, operators (`AND`, `&&`, `+`, `-`, `!`, comparisons)
//! and brackets, each with its 1-based character position.

use super::QueryError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Colon,
    And,
    Or,
    Not,
    Plus,
    Minus,
    Cmp(Cmp),
    Word(String),
    Phrase(String),
}

impl Kind {
    pub(super) fn describe(&self) -> String {
        match self {
            Self::LParen => "'('".into(),
            Self::RParen => "')'".into(),
            Self::LBracket => "'['".into(),
            Self::RBracket => "']'".into(),
            Self::LBrace => "'{'".into(),
            Self::RBrace => "'}'".into(),
            Self::Colon => "':'".into(),
            Self::And => "AND".into(),
            Self::Or => "OR".into(),
            Self::Not => "NOT".into(),
            Self::Plus => "'+'".into(),
            Self::Minus => "'-'".into(),
            Self::Cmp(c) => format!("'{}'", c.as_str()),
            Self::Word(w) => format!("\"{w}\""),
            Self::Phrase(p) => format!("phrase \"{p}\""),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    fn as_str(self) -> &'static str {
        match self {
            Self::Gt => ">",
            Self::Gte => ">=",
            Self::Lt => "<",
            Self::Lte => "<=",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) kind: Kind,
    /// 1-based character position.
    pub(super) pos: usize,
}

fn is_term_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | ':' | '"' | '^' | '~')
}

pub(super) fn lex(query: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = query.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let err = |pos: usize, message: String| QueryError {
        position: pos + 1,
        message,
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let single = match c {
            _ if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => Some(Kind::LParen),
            ')' => Some(Kind::RParen),
            '[' => Some(Kind::LBracket),
            ']' => Some(Kind::RBracket),
            '{' => Some(Kind::LBrace),
            '}' => Some(Kind::RBrace),
            ':' => Some(Kind::Colon),
            '+' => Some(Kind::Plus),
            '-' => Some(Kind::Minus),
            '!' => Some(Kind::Not),
            '^' | '~' | '/' => {
                return Err(err(
                    i,
                    format!(
                        "'{c}' (boosting, fuzzy or regular expression queries) is not supported"
                    ),
                ));
            }
            _ => None,
        };
        if let Some(kind) = single {
            tokens.push(Token {
                kind,
                pos: start + 1,
            });
            i += 1;
            continue;
        }
        if c == '&' || c == '|' {
            if chars.get(i + 1) == Some(&c) {
                let kind = if c == '&' { Kind::And } else { Kind::Or };
                tokens.push(Token {
                    kind,
                    pos: start + 1,
                });
                i += 2;
                continue;
            }
            return Err(err(i, format!("expected '{c}{c}'")));
        }
        if c == '>' || c == '<' {
            let eq = chars.get(i + 1) == Some(&'=');
            let cmp = match (c, eq) {
                ('>', false) => Cmp::Gt,
                ('>', true) => Cmp::Gte,
                ('<', false) => Cmp::Lt,
                _ => Cmp::Lte,
            };
            tokens.push(Token {
                kind: Kind::Cmp(cmp),
                pos: start + 1,
            });
            i += if eq { 2 } else { 1 };
            continue;
        }
        if c == '"' {
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(err(start, "unterminated quoted phrase".into())),
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        if let Some(&next) = chars.get(i + 1) {
                            text.push(next);
                        }
                        i += 2;
                    }
                    Some(&ch) => {
                        text.push(ch);
                        i += 1;
                    }
                }
            }
            tokens.push(Token {
                kind: Kind::Phrase(text),
                pos: start + 1,
            });
            continue;
        }
        let mut text = String::new();
        let mut escaped_any = false;
        while i < chars.len() && is_term_char(chars[i]) {
            if chars[i] == '\\' {
                match chars.get(i + 1) {
                    Some(&next) => text.push(next),
                    None => return Err(err(i, "a backslash must escape a character".into())),
                }
                escaped_any = true;
                i += 2;
            } else {
                text.push(chars[i]);
                i += 1;
            }
        }
        let kind = match text.as_str() {
            "AND" if !escaped_any => Kind::And,
            "OR" if !escaped_any => Kind::Or,
            "NOT" if !escaped_any => Kind::Not,
            _ => Kind::Word(text),
        };
        tokens.push(Token {
            kind,
            pos: start + 1,
        });
    }
    Ok(tokens)
}
