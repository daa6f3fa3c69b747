//! The user agents of the mapping cases: what version 1's ua-parser gave for each, answered in
//! place of ua-parser (the Python side supplies ua-parser in production).

use _native::mapping::{Os, UserAgent, UserAgents};
use serde_json::Value;

/// ua-parser's answers (via version 1's `parse_user_agent`) for the user agents of these cases.
pub(crate) struct Agents {
    known: Value,
    calls: usize,
    last: UserAgent,
}

impl Agents {
    pub(crate) fn new() -> Agents {
        Agents { known: serde_json::from_str(USER_AGENTS).unwrap(), calls: 0, last: UserAgent::default() }
    }
}

impl UserAgents for Agents {
    fn parse(&mut self, ua: &str) -> &UserAgent {
        self.calls += 1;
        let Some(v) = self.known.get(ua) else { panic!("no parse known for user agent {ua:?}") };
        let s = |v: &Value| v.as_str().unwrap().to_owned();
        self.last = UserAgent {
            name: s(&v["name"]),
            version: v.get("version").map(s),
            os: v.get("os").map(|os| Os {
                name: s(&os["name"]),
                version: os.get("version").map(s),
                full: s(&os["full"]),
            }),
            device: s(&v["device"]["name"]),
        };
        &self.last
    }
}

/// What ua-parser (through version 1's `parse_user_agent`) gave for each user agent of the cases.
const USER_AGENTS: &str = r####"{
 "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0": {
  "name": "Firefox",
  "version": "40.0",
  "os": {
   "name": "Windows",
   "version": "7",
   "full": "Windows 7"
  },
  "device": {
   "name": "Other"
  }
 },
 "Expanse indexes the network perimeters of our customers. If you have any questions or concerns, please reach out to: sanitized_email.com": {
  "name": "Other",
  "device": {
   "name": "Other"
  }
 },
 "Expanse, a Palo Alto Networks company, searches across the global IPv4 space multiple times per day to identify customers&#39; presences on the Internet. If you would like to be excluded from our scans, please send IP addresses/domains to: sanitized_email.com": {
  "name": "Other",
  "device": {
   "name": "Other"
  }
 },
 "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/85.0.4183.102 Safari/537.36": {
  "name": "Chrome",
  "version": "85.0.4183.102",
  "os": {
   "name": "Linux",
   "full": "Linux"
  },
  "device": {
   "name": "Other"
  }
 },
 "Mozilla/6.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 Firefox/40.0": {
  "name": "Firefox",
  "version": "40.0",
  "os": {
   "name": "Windows",
   "version": "7",
   "full": "Windows 7"
  },
  "device": {
   "name": "Other"
  }
 },
 "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.0.0 Safari/537.36 Edg/99.0.0.0": {
  "name": "Edge",
  "version": "99.0.0.0",
  "os": {
   "name": "Windows",
   "version": "10",
   "full": "Windows 10"
  },
  "device": {
   "name": "Other"
  }
 },
 "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15": {
  "name": "Safari",
  "version": "17.4",
  "os": {
   "name": "Mac OS X",
   "version": "10.15.7",
   "full": "Mac OS X 10.15.7"
  },
  "device": {
   "name": "Mac"
  }
 },
 "\"Xpanse-bot": {
  "name": "Xpanse-bot",
  "device": {
   "name": "Spider"
  }
 },
 "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:38.0) Gecko/20100101 Firefox/38.0": {
  "name": "Firefox",
  "version": "38.0",
  "os": {
   "name": "Windows",
   "version": "7",
   "full": "Windows 7"
  },
  "device": {
   "name": "Other"
  }
 },
 "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0": {
  "name": "Firefox",
  "version": "128.0",
  "os": {
   "name": "Windows",
   "version": "10",
   "full": "Windows 10"
  },
  "device": {
   "name": "Other"
  }
 },
 "curl/8.0": {
  "name": "curl",
  "version": "8.0",
  "device": {
   "name": "Other"
  }
 },
 "Bad��Agent": {
  "name": "Other",
  "device": {
   "name": "Other"
  }
 }
}"####;
