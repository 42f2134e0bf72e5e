//! The file query language (a configuration author's `query` / `source.tags` searches): parsing
//! never panics or overflows the stack, and a parsed query can be matched.
#![no_main]

use berth_storage::{FileFacts, FileQuery};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = FileQuery::parse(text) else {
        return;
    };
    let tags = vec!["a".to_owned(), "componentId: x".to_owned()];
    let facts = FileFacts {
        id: 42,
        name: "data.csv",
        tags: &tags,
        created: OffsetDateTime::UNIX_EPOCH,
        size_bytes: 1024,
        is_public: false,
        is_permanent: true,
        is_encrypted: true,
        run_id: Some("1.2"),
    };
    let _ = query.matches(&facts);
});
