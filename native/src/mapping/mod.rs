//! A decoded record → one event row of ECS values (being written).
