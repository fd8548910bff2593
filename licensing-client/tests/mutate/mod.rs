//! Random edits of a reference string, for the proptest fuzz targets: they
//! reach far deeper into a parser than random text.
#![allow(dead_code)]

use proptest::prelude::*;

#[derive(Clone, Debug)]
pub enum Edit {
    Replace(usize, char),
    Insert(usize, char),
    Delete(usize),
    FlipCase(usize),
}

pub fn edit() -> impl Strategy<Value = Edit> {
    let ch = prop_oneof![prop::char::range('0', 'z'), Just('-'), Just('='), any::<char>()];
    prop_oneof![
        (any::<usize>(), ch.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), ch).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::FlipCase),
    ]
}

pub fn apply(key: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = key.chars().collect();
    for e in edits {
        let n = chars.len().max(1);
        match *e {
            Edit::Replace(i, c) if !chars.is_empty() => chars[i % n] = c,
            Edit::Insert(i, c) => chars.insert(i % (chars.len() + 1), c),
            Edit::Delete(i) if !chars.is_empty() => {
                chars.remove(i % n);
            }
            Edit::FlipCase(i) if !chars.is_empty() => {
                let c = chars[i % n];
                chars[i % n] = if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() };
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}
