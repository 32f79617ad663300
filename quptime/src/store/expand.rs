//! How large a YAML text may become once its aliases are expanded.
//!
//! YAML anchors (`&base`) and aliases (`*base`, `<<: *base`) let a small
//! file stand for a much larger document: a 0.9 MB declaration can expand
//! to 10.8 MB, and nested aliases grow exponentially ("billion laughs"). The
//! parser's own budgets count events, not bytes, so before deserialising,
//! one pass over the event stream adds up what every alias will replay —
//! scalar bytes and nodes — without expanding anything, and refuses the
//! file as soon as either sum passes its bound. The sums saturate, so no
//! input can overflow them, and the pass keeps one number pair per anchor.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};

use crate::error::{Error, ErrorKind, Result};

/// Bounds on an expanded YAML text.
#[derive(Debug, Clone, Copy)]
pub struct Expansion {
    /// Bytes of scalars (keys and values).
    pub bytes: u64,
    /// Nodes (scalars, lists, maps).
    pub nodes: u64,
}

/// What the node's own files (`node.yaml`, `trust.yaml`) may expand to.
pub const FILE_EXPANSION: Expansion = Expansion {
    bytes: 4 << 20,
    nodes: 200_000,
};

/// What a node (or an anchor) stands for once expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    bytes: u64,
    nodes: u64,
}

impl Size {
    fn add(&mut self, other: Size) {
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.nodes = self.nodes.saturating_add(other.nodes);
    }
}

/// Refuse `text` if it expands past `max` (`what` names it in the error,
/// such as "the declaration"). Syntax errors are left to the
/// deserialiser, which reports them with more context.
pub fn check(text: &str, what: &str, max: Expansion) -> Result<()> {
    let mut anchors: HashMap<usize, Size> = HashMap::new();
    // Open collections: their anchor id (0: none) and size so far.
    let mut open: Vec<(usize, Size)> = Vec::new();
    let mut total = Size::default();
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else {
            return Ok(());
        };
        let added = match event {
            Event::Scalar(value, _, anchor, _) => {
                let size = Size {
                    bytes: value.len() as u64,
                    nodes: 1,
                };
                if anchor != 0 {
                    anchors.insert(anchor, size);
                }
                size
            }
            Event::Alias(id) => anchors.get(&id).copied().unwrap_or_default(),
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                open.push((anchor, Size { bytes: 0, nodes: 1 }));
                total.add(Size { bytes: 0, nodes: 1 });
                Size::default()
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, size)) = open.pop() {
                    if anchor != 0 {
                        anchors.insert(anchor, size);
                    }
                    if let Some((_, parent)) = open.last_mut() {
                        parent.add(size);
                    }
                }
                // Already counted in `total` as its parts arrived.
                continue;
            }
            _ => continue,
        };
        if let Some((_, parent)) = open.last_mut() {
            parent.add(added);
        }
        total.add(added);
        if total.bytes > max.bytes || total.nodes > max.nodes {
            let at = span.start;
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "line {} column {}: {what} expands to more than {} bytes or {} values once \
                     its YAML aliases (*name) are replaced by what they stand for, over the \
                     limit: use fewer aliases or split it",
                    at.line(),
                    at.col() + 1,
                    max.bytes,
                    max.nodes
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Expansion = Expansion {
        bytes: 1 << 20,
        nodes: 200_000,
    };

    #[test]
    fn plain_files_and_modest_aliases_pass() {
        check("checks:\n  - name: a\n    target: x\n", "t", SMALL).expect("plain");
        let shared = "base: &b {type: tcp, target: 'db:1'}\nchecks:\n  - *b\n  - *b\n";
        check(shared, "t", SMALL).expect("two aliases");
    }

    #[test]
    fn a_billion_laughs_is_refused_without_expanding_it() {
        let mut text = String::from("a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
        for i in 1..30 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!(
                "a{i}: &a{i} [{prev}, {prev}, {prev}, {prev}, {prev}, {prev}, {prev}]\n"
            ));
        }
        let e = check(&text, "t", SMALL).expect_err("exponential");
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("aliases"), "{e}");
    }

    #[test]
    fn a_large_scalar_repeated_by_aliases_is_refused() {
        // 0.9 MB of text, 12 aliases: 10.8 MB expanded.
        let big = "x".repeat(900_000);
        let mut text = format!("big: &big \"{big}\"\nuses:\n");
        for _ in 0..12 {
            text.push_str("  - *big\n");
        }
        let e = check(&text, "t", SMALL).expect_err("10.8 MB");
        assert!(e.message().starts_with("line "), "{e}");
    }
}
