//! The ECS value converters (`native/src/ecs/`): every case of version 1's
//! `tests/decode/test_convert.py`, tables whose expected values were computed by running version 1
//! on Python 3.11.7 (addresses, warning texts, JSON), and the intended differences from version 1
//! listed at the top of `native/src/ecs/convert.rs`.

mod actions_and_rule_types;
mod addresses;
mod json;
mod numbers_and_booleans;
mod support;
mod times;
mod version_1;
mod warning_texts;
