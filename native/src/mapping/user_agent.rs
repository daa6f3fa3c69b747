//! `user_agent.*`: the caller parses (the Python side supplies ua-parser, cached per distinct
//! value, DESIGN §1 "enrich"); this module only places the result, as version 1's
//! `wafpipe.enrich.useragent.parse_user_agent` shaped it.

use crate::document::Row;
use crate::fields::{
    USER_AGENT_DEVICE_NAME, USER_AGENT_NAME, USER_AGENT_ORIGINAL, USER_AGENT_OS_FULL,
    USER_AGENT_OS_NAME, USER_AGENT_OS_VERSION, USER_AGENT_VERSION,
};

use super::str_at;

/// A user-agent parser. Called once per event that has a user agent, with the value as stored
/// (quotes around the whole value already removed); implementations cache by value and lend the
/// cached result (nothing is copied per event but the strings the row stores).
pub trait UserAgents {
    fn parse(&mut self, ua: &str) -> &UserAgent;
}

/// A parsed user agent, as version 1's `parse_user_agent` returned it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserAgent {
    /// `user_agent.name`: the agent family, `Other` when unknown.
    pub name: String,
    /// `user_agent.version`: `major[.minor[.patch[.patch_minor]]]`, if any.
    pub version: Option<String>,
    /// `user_agent.os.*`, when the OS family is known (not `Other`).
    pub os: Option<Os>,
    /// `user_agent.device.name`: the device family, `Other` when unknown.
    pub device: String,
}

impl UserAgent {
    /// An agent nobody recognises (`Other`, no version, no OS, device `Other`): what ua-parser gives
    /// for an unknown agent, and what stands in when parsing fails or is not wanted.
    pub fn other() -> UserAgent {
        UserAgent { name: "Other".into(), version: None, os: None, device: "Other".into() }
    }
}

/// `user_agent.os.*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Os {
    pub name: String,
    pub version: Option<String>,
    /// `name version`, or `name` alone.
    pub full: String,
}

pub(crate) fn user_agent(row: &mut Row, agents: &mut dyn UserAgents) {
    // `user_agent.original` is set by the field table (`requestClientApplication`).
    let parsed = match str_at(row, USER_AGENT_ORIGINAL) {
        Some(ua) if !ua.is_empty() => agents.parse(ua),
        _ => return,
    };
    let UserAgent { name, version, os, device } = parsed;
    row.set_str(USER_AGENT_NAME, name);
    if let Some(version) = version.as_deref().filter(|v| !v.is_empty()) {
        row.set_str(USER_AGENT_VERSION, version);
    }
    if let Some(Os { name, version, full }) = os {
        row.set_str(USER_AGENT_OS_NAME, name);
        if let Some(version) = version.as_deref().filter(|v| !v.is_empty()) {
            row.set_str(USER_AGENT_OS_VERSION, version);
        }
        row.set_str(USER_AGENT_OS_FULL, full);
    }
    row.set_str(USER_AGENT_DEVICE_NAME, device);
}
