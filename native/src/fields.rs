//! The document tree and the field table, generated from `src/wafpipe/fields/` (`make generate`).
//!
//! Every value the mapping can emit has a **slot**: its index in [`LEAVES`]. An event is one
//! value per slot ([`crate::document::Row`]); the JSON document and the Arrow columns are both
//! rendered from the slots by walking [`NODES`], so the two can never disagree about where a
//! value lives or what type it has.

#[path = "generated/fields.rs"]
mod generated;

pub use generated::*;

/// What a leaf holds. `*List` leaves hold arrays; `Json` leaves hold JSON text of Elasticsearch's
/// `flattened` type, which has no fixed shape and so is a document value but not an Arrow column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Long,
    Double,
    Bool,
    /// Epoch milliseconds, rendered as ISO 8601 UTC with milliseconds.
    Date,
    /// A `{lat, lon}` point.
    Geo,
    StrList,
    Json,
}

/// One leaf of the document tree.
#[derive(Clone, Copy, Debug)]
pub struct Leaf {
    /// The ECS dotted path.
    pub path: &'static str,
    pub kind: Kind,
}

/// One node of the document tree. A struct's children are `NODES[first..first + count]`.
#[derive(Clone, Copy, Debug)]
pub enum Node {
    Struct { name: &'static str, first: usize, count: usize },
    Leaf { name: &'static str, slot: usize },
}

/// How the field table converts an Imperva key's text (the field's type in `table.py`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convert {
    Keyword,
    Long,
    Double,
    Bool,
    Date,
    Ip,
    KeywordList,
    IpList,
    Json,
}

/// One row of the field table: key → converter and the one slot its value goes to (an ECS field
/// where ECS has one, else a field under `imperva.waf`: a value lives once in a document).
#[derive(Clone, Copy, Debug)]
pub struct KeyPlan {
    pub key: &'static str,
    pub convert: Convert,
    pub slot: usize,
}

/// The plan of canonical key `key`, if the field table has it.
pub fn plan_of(key: &str) -> Option<&'static KeyPlan> {
    KEY_PLAN.binary_search_by(|p| p.key.cmp(key)).ok().map(|i| &KEY_PLAN[i])
}

/// The root's children.
pub fn root() -> &'static [Node] {
    &NODES[ROOT_FIRST..ROOT_FIRST + ROOT_COUNT]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_leaf_is_reached_once_from_the_root() {
        fn walk(nodes: &[Node], seen: &mut Vec<usize>) {
            for node in nodes {
                match *node {
                    Node::Struct { first, count, .. } => walk(&NODES[first..first + count], seen),
                    Node::Leaf { slot, .. } => seen.push(slot),
                }
            }
        }
        let mut seen = Vec::new();
        walk(root(), &mut seen);
        assert_eq!(seen, (0..LEAVES.len()).collect::<Vec<_>>());
    }

    #[test]
    fn the_key_plan_is_sorted_and_found() {
        assert!(KEY_PLAN.windows(2).all(|w| w[0].key < w[1].key));
        let src = plan_of("src").unwrap();
        assert_eq!(src.convert, Convert::Ip);
        assert_eq!((src.slot, LEAVES[src.slot].path), (SOURCE_IP, "source.ip"));
        let pop = plan_of("devicefacility").unwrap();
        assert_eq!(LEAVES[pop.slot].path, "observer.name", "a value with an ECS home lives there only");
        assert_eq!(LEAVES[plan_of("fileid").unwrap().slot].path, "imperva.waf.session_id");
        assert!(plan_of("nope").is_none());
    }
}
