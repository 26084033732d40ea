//! Devices as the tool sees them, and the pure logic that picks one from what the user typed:
//! id or exact name, then a unique whitespace-trimmed name, else "did you mean" suggestions.

use crate::error::DeviceSummary;
use crate::viewer::Viewer;

/// The fields of an appliance device that the tool uses; everything else is skipped when
/// decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub device_type: String,
    pub path_types: Vec<String>,
}

impl Device {
    pub fn takes(&self, viewer: Viewer) -> bool {
        viewer.takes(
            &self.device_type,
            self.path_types.iter().map(String::as_str),
        )
    }

    pub fn viewers(&self) -> Vec<Viewer> {
        Viewer::all_taken_by(&self.device_type, &self.path_types)
    }

    pub fn summary(&self) -> DeviceSummary {
        DeviceSummary {
            id: self.id.clone(),
            name: self.name.clone(),
            device_type: self.device_type.clone(),
        }
    }
}

/// The outcome of matching a query against a list of devices.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution<'a> {
    Found(&'a Device),
    Ambiguous(Vec<&'a Device>),
    NotFound,
}

/// Whether a device could answer `query` (by id, exact name or trimmed name). Used to decide
/// what to keep while decoding a large device list.
pub fn could_match(query: &str, id: &str, name: &str) -> bool {
    id == query || name == query || name.trim() == query.trim()
}

/// Pick the device `query` names: a device id, else an exact (case-sensitive) name, else a
/// unique name after trimming surrounding whitespace on both sides.
pub fn resolve<'a>(query: &str, devices: &'a [Device]) -> Resolution<'a> {
    if let Some(d) = devices.iter().find(|d| d.id == query) {
        return Resolution::Found(d);
    }
    let exact: Vec<&Device> = devices.iter().filter(|d| d.name == query).collect();
    let trimmed_query = query.trim();
    let candidates = if exact.is_empty() {
        devices
            .iter()
            .filter(|d| d.name.trim() == trimmed_query)
            .collect()
    } else {
        exact
    };
    match candidates.len() {
        0 => Resolution::NotFound,
        1 => Resolution::Found(candidates[0]),
        _ => Resolution::Ambiguous(candidates),
    }
}

/// `devices --name`: a glob when the pattern has `*` or `?` (matching the whole name), else a
/// substring. Case-sensitive, like device names.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return name.contains(pattern);
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative wildcard matching: remember the last `*` and backtrack to it on a mismatch.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Keeps the few names closest to a query while names stream past, so memory does not grow
/// with the inventory.
#[derive(Debug)]
pub struct Suggester {
    query: String,
    query_lower: String,
    limit: usize,
    best: Vec<(f64, String)>,
}

impl Suggester {
    pub fn new(query: &str, limit: usize) -> Self {
        Suggester {
            query: query.trim().to_owned(),
            query_lower: query.trim().to_lowercase(),
            limit,
            best: Vec::with_capacity(limit + 1),
        }
    }

    /// Score a name: 1.0 for a case-insensitive equal, high for substrings, else similarity.
    fn score(&self, name: &str) -> f64 {
        let name = name.trim();
        if name.is_empty() || self.query.is_empty() {
            return 0.0;
        }
        let lower = name.to_lowercase();
        if lower == self.query_lower {
            return 1.0;
        }
        let similarity = strsim::normalized_damerau_levenshtein(&self.query_lower, &lower);
        if lower.contains(&self.query_lower) || self.query_lower.contains(&lower) {
            return similarity.max(0.7);
        }
        similarity
    }

    pub fn offer(&mut self, name: &str) {
        let score = self.score(name);
        if score < 0.5 {
            return;
        }
        if self.best.iter().any(|(_, n)| n == name) {
            return;
        }
        // Ties go to the name that sorts first, whatever order the names come in.
        if self.best.len() == self.limit
            && self
                .best
                .last()
                .is_some_and(|(worst, n)| *worst > score || (*worst == score && n.as_str() < name))
        {
            return;
        }
        let at = self
            .best
            .iter()
            .position(|(s, n)| *s < score || (*s == score && n.as_str() > name))
            .unwrap_or(self.best.len());
        self.best.insert(at, (score, name.to_owned()));
        self.best.truncate(self.limit);
    }

    pub fn into_names(self) -> Vec<String> {
        self.best.into_iter().map(|(_, n)| n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: &str, name: &str) -> Device {
        Device {
            id: id.into(),
            name: name.into(),
            device_type: "ADX-IP-IQ".into(),
            path_types: vec![],
        }
    }

    fn check(query: &str, devices: &[Device], expected: &[&str]) {
        let got: Vec<&str> = match resolve(query, devices) {
            Resolution::Found(d) => vec![d.id.as_str()],
            Resolution::Ambiguous(ds) => ds.iter().map(|d| d.id.as_str()).collect(),
            Resolution::NotFound => vec![],
        };
        assert_eq!(got, expected, "query {query:?}");
    }

    #[test]
    fn resolution_rules() {
        let devices = [
            dev("1", "rack-a-01"),
            dev("2", "Rack-A-01"),
            dev("3", "IPIQ Target Device "),
            dev("4", "dup"),
            dev("5", "dup"),
            dev("6", " pad "),
            dev("7", "pad"),
        ];
        check("rack-a-01", &devices, &["1"]);
        check("Rack-A-01", &devices, &["2"]);
        check("RACK-A-01", &devices, &[]);
        check("IPIQ Target Device", &devices, &["3"]);
        check("IPIQ Target Device ", &devices, &["3"]);
        check(" rack-a-01", &devices, &["1"]);
        check("dup", &devices, &["4", "5"]);
        check("5", &devices, &["5"]);
        // an exact match wins over trimmed ones
        check("pad", &devices, &["7"]);
        // trimmed matches that are several are ambiguous
        check(" pad  ", &devices, &["6", "7"]);
    }

    #[test]
    fn name_patterns() {
        let check = |p: &str, n: &str, want: bool| assert_eq!(name_matches(p, n), want, "{p} {n}");
        check("rack", "rack-a-01", true);
        check("a-0", "rack-a-01", true);
        check("RACK", "rack-a-01", false);
        check("rack-*", "rack-a-01", true);
        check("rack-?-01", "rack-a-01", true);
        check("rack-?-01", "rack-ab-01", false);
        check("*01", "rack-a-01", true);
        check("*02", "rack-a-01", false);
        check("r*a*1", "rack-a-01", true);
        check("*", "", true);
        check("?", "", false);
        check("サ*", "サーバー-04", true);
    }

    #[test]
    fn suggestions_prefer_close_names_and_stop_at_the_limit() {
        let mut s = Suggester::new("rack-a-1", 2);
        for n in ["db-07", "rack-a-01", "rack-a-02", "rack-b-01", "zzz"] {
            s.offer(n);
        }
        assert_eq!(s.into_names(), ["rack-a-01", "rack-a-02"]);

        let mut s = Suggester::new("RACK-A-01", 5);
        for n in ["rack-a-01", "Rack-A-01", "unrelated-name"] {
            s.offer(n);
        }
        assert_eq!(s.into_names(), ["Rack-A-01", "rack-a-01"]);
    }

    #[test]
    fn suggestions_do_not_depend_on_the_order_names_come_in() {
        let names = ["node-12", "node-13", "node-11", "node-14", "node-10"];
        let pick = |order: &[&str]| {
            let mut s = Suggester::new("node-1", 2);
            for n in order {
                s.offer(n);
            }
            s.into_names()
        };
        let mut reversed = names;
        reversed.reverse();
        assert_eq!(pick(&names), ["node-10", "node-11"]);
        assert_eq!(pick(&reversed), pick(&names));
    }
}
