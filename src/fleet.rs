//! Fleets: a launch or a listing across every appliance of a group (`-g GROUP`) or of the
//! config file (`--all`). Appliances are asked at once (at most `--jobs` at a time), each
//! within its own timeout; one that fails is named on stderr while the others still answer.
//!
//! A launch goes ahead when exactly one device in the fleet matches. The device is always
//! confirmed on its appliance in this run before the ticket is created, so a stale index entry
//! can cost a lookup but never cause a wrong launch.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::api::{Appliance, Session};
use crate::app;
use crate::config::{Config, DevicesTask, LaunchTask, PasswordSource};
use crate::device::{self, Device, Resolution};
use crate::diag;
use crate::error::{Error, Result};
use crate::files;
use crate::known_hosts::KnownHosts;
use crate::lookup::{self, Found};
use crate::output::{self, Listed};
use crate::progress;
use crate::sanitize::{quote_name, terminal_safe};
use crate::session::{Connection, Credentials};
use crate::session_cache::SessionCache;
use crate::viewer::{self, Viewer};

/// One appliance of the fleet: its profile name and configuration.
#[derive(Debug)]
pub struct Member {
    pub name: String,
    pub config: Config,
}

/// What the fleet shares: trust, the session cache, how many to ask at once, the index.
#[derive(Debug)]
pub struct Fleet {
    pub members: Vec<Member>,
    pub jobs: usize,
    /// `Some` when the group keeps an index: where, and how long it stays fresh.
    pub index: Option<(PathBuf, Duration)>,
}

/// An appliance that answered: what it holds, and the session to go on with.
struct Reached {
    name: String,
    config: Config,
    appliance: Appliance,
    session: Option<Session>,
    creds: Credentials,
    found: Found,
}

/// An appliance that could not be asked.
struct Failed {
    name: String,
    host: String,
    error: Error,
}

/// Credentials for every member that will need a password (no cached session), asking each
/// source once: stdin and the environment serve everyone, a command runs once per command
/// line, a prompt asks once per user.
fn credentials(
    members: &[Member],
    cache: Option<&SessionCache>,
) -> Result<Vec<(Credentials, Option<Session>)>> {
    let mut shared: HashMap<String, SecretString> = HashMap::new();
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        let mut creds = Credentials::new(&m.config)?;
        let cached = match cache {
            Some(c) => c.load(&m.config.host_key, creds.user())?,
            None => None,
        };
        if cached.is_none() {
            let key = match &m.config.password {
                PasswordSource::Stdin => "stdin".to_owned(),
                PasswordSource::Env => "env".to_owned(),
                PasswordSource::Command(argv) => format!("command\0{}", argv.join("\0")),
                PasswordSource::Prompt => format!("prompt\0{}", creds.user()),
            };
            match shared.get(&key) {
                Some(p) => creds.set_password(p.clone()),
                None => {
                    let p = creds.password()?.clone();
                    shared.insert(key, p);
                }
            }
        }
        out.push((creds, cached));
    }
    Ok(out)
}

/// A connection to one member, starting from its cached session when there is one.
fn connect<'a>(
    member: &Member,
    known: Option<[u8; 32]>,
    creds: &'a mut Credentials,
    cache: Option<&'a SessionCache>,
    cached: Option<Session>,
) -> Result<Connection<'a>> {
    let appliance = Appliance::new(&member.config, known)?;
    let mut conn = Connection::new(appliance, creds, cache, &member.config.host_key);
    if let Some(session) = cached {
        conn.set_session(session);
    }
    Ok(conn)
}

/// Run one member's work within its timeout (the fleet waits for no appliance longer).
async fn within<T>(
    member: &Member,
    step: &'static str,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let deadline = member.config.timeout;
    tokio::time::timeout(deadline, work)
        .await
        .unwrap_or_else(|_| {
            Err(Error::Timeout {
                host: member.config.host_label.clone(),
                step,
                secs: deadline.as_secs(),
            })
        })
}

fn label(m: &Member) -> String {
    format!("{} ({})", terminal_safe(&m.name), m.config.host_label)
}

/// Ask every member, at most `jobs` at a time, each within its configured timeout.
async fn ask_all(
    members: Vec<Member>,
    jobs: usize,
    cache: Option<&SessionCache>,
    known_hosts: &KnownHosts,
    query: &str,
    viewer: Viewer,
    types: &[&str],
) -> Result<(Vec<Reached>, Vec<Failed>)> {
    let creds = credentials(&members, cache)?;
    let asks = members
        .into_iter()
        .zip(creds)
        .map(|(member, (mut creds, cached))| {
            let known = known_hosts.get(&member.config.host_key);
            async move {
                let work = async {
                    let mut conn = connect(&member, known, &mut creds, cache, cached)?;
                    let found = lookup::find(&mut conn, query, viewer, types, true).await?;
                    let session = conn.take_session();
                    Ok((conn.into_appliance(), session, found))
                };
                match within(&member, "the lookup", work).await {
                    Ok((appliance, session, found)) => Ok(Reached {
                        name: member.name,
                        config: member.config,
                        appliance,
                        session,
                        creds,
                        found,
                    }),
                    Err(error) => Err(Failed {
                        host: member.config.host_label.clone(),
                        name: member.name,
                        error,
                    }),
                }
            }
        });
    let outcomes: Vec<std::result::Result<Reached, Failed>> = futures_util::stream::iter(asks)
        .buffer_unordered(jobs.max(1))
        .collect()
        .await;
    let mut reached = Vec::new();
    let mut failed = Vec::new();
    for o in outcomes {
        match o {
            Ok(r) => reached.push(r),
            Err(f) => {
                diag::warn(format!(
                    "{} ({}) could not be asked: {}",
                    terminal_safe(&f.name),
                    f.host,
                    f.error
                ));
                failed.push(f);
            }
        }
    }
    reached.sort_by(|a, b| a.name.cmp(&b.name));
    failed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((reached, failed))
}

/// The error when a device could not be found and some appliances could not be asked.
fn partial(query: &str, asked: usize, failed: &[Failed]) -> Error {
    let names: Vec<String> = failed
        .iter()
        .map(|f| format!("{} ({})", terminal_safe(&f.name), f.host))
        .collect();
    Error::FleetIncomplete {
        message: format!(
            "{} was not found on the {asked} appliance(s) that answered, and {} could not be asked: {}",
            quote_name(query),
            failed.len(),
            names.join(", ")
        ),
    }
}

/// `kvm|serial|vm DEVICE` across the fleet.
pub async fn launch(fleet: Fleet, t: &LaunchTask) -> Result<()> {
    let cache = fleet_cache(&fleet)?;
    let known_hosts = KnownHosts::load(&KnownHosts::default_path()?)?;
    let types = viewer::device_types_for(&[t.viewer]);
    let jobs = fleet.jobs;
    let index_settings = fleet.index.clone();
    let mut members = fleet.members;

    // With a fresh index entry, ask only that appliance first.
    let mut early_failed = Vec::new();
    if let Some((path, max_age)) = &index_settings
        && let Some(hint) = Index::load(path, *max_age).and_then(|i| i.locate(&t.device, t.viewer))
        && let Some(pos) = members.iter().position(|m| m.name == hint)
    {
        diag::verbose(
            1,
            format!("the index places {} on {hint}", quote_name(&t.device)),
        );
        let member = members.remove(pos);
        let (mut reached, failed) = ask_all(
            vec![member],
            1,
            cache.as_ref(),
            &known_hosts,
            &t.device,
            t.viewer,
            &types,
        )
        .await?;
        if let Some(r) = reached.pop() {
            if let Resolution::Found(d) = device::resolve(&t.device, &r.found.takers) {
                let d = d.clone();
                return deliver(r, &d, t, cache.as_ref()).await;
            }
            // A stale entry: that appliance is asked again with the others.
            members.push(Member {
                name: r.name,
                config: r.config,
            });
        }
        // An appliance that could not be asked is not asked twice; it counts as not asked.
        early_failed = failed;
        diag::verbose(
            1,
            "the index did not lead to the device; asking every appliance",
        );
    }

    let asked_total = members.len();
    let (reached, mut failed) = progress::spin(
        format!(
            "Asking {asked_total} appliances for {}",
            quote_name(&t.device)
        ),
        ask_all(
            members,
            jobs,
            cache.as_ref(),
            &known_hosts,
            &t.device,
            t.viewer,
            &types,
        ),
    )
    .await?;
    failed.append(&mut early_failed);
    if let Some((path, _)) = &index_settings {
        Index::record(path, &reached, &t.device);
    }

    let mut hits: Vec<(usize, Device)> = Vec::new();
    let mut ambiguous_within = false;
    for (i, r) in reached.iter().enumerate() {
        match device::resolve(&t.device, &r.found.takers) {
            Resolution::Found(d) => hits.push((i, d.clone())),
            Resolution::Ambiguous(ds) => {
                ambiguous_within = true;
                hits.extend(ds.into_iter().map(|d| (i, d.clone())));
            }
            Resolution::NotFound => {}
        }
    }
    match hits.len() {
        1 if !ambiguous_within => {
            let (i, d) = hits.remove(0);
            let winner = reached
                .into_iter()
                .nth(i)
                .ok_or_else(|| Error::Internal("lost the appliance".to_owned()))?;
            deliver(winner, &d, t, cache.as_ref()).await
        }
        0 => {
            if !failed.is_empty() {
                return Err(partial(&t.device, reached.len(), &failed));
            }
            // Maybe it exists with another viewer somewhere, else suggest names.
            let others: Vec<&Device> = reached.iter().flat_map(|r| &r.found.others).collect();
            if let Some(d) = others
                .iter()
                .find(|d| device::could_match(&t.device, &d.id, &d.name))
            {
                return Err(Error::WrongViewer {
                    name: d.name.clone(),
                    requested: t.viewer,
                    takes: d.viewers(),
                });
            }
            let mut suggester = device::Suggester::new(&t.device, 5);
            for name in reached.iter().flat_map(|r| &r.found.suggestions) {
                suggester.offer(name);
            }
            Err(Error::DeviceNotFound {
                query: quote_name(&t.device),
                viewer: t.viewer,
                suggestions: suggester.into_names(),
            })
        }
        _ => {
            let mut listing = String::new();
            for (i, d) in &hits {
                let _ = write!(
                    listing,
                    "\n    {}  {}  {}  {}",
                    terminal_safe(&reached[*i].name),
                    terminal_safe(&d.id),
                    terminal_safe(&d.device_type),
                    quote_name(&d.name)
                );
            }
            Err(Error::AmbiguousInFleet {
                message: format!(
                    "{} devices in the fleet are named {}",
                    hits.len(),
                    quote_name(&t.device)
                ),
                hint: format!(
                    "matching devices (appliance, id, type, name):{listing}\n\
                     choose one with -p APPLIANCE (and the id if an appliance has several), e.g.: \
                     dsview-launch -p {} {} {}",
                    terminal_safe(&reached[hits[0].0].name),
                    t.viewer.cli_name(),
                    terminal_safe(&hits[0].1.id)
                ),
            })
        }
    }
}

/// Create the ticket on the appliance that holds the device, and open or print the URL.
async fn deliver(
    r: Reached,
    d: &Device,
    t: &LaunchTask,
    cache: Option<&SessionCache>,
) -> Result<()> {
    let Reached {
        name,
        config,
        appliance,
        session,
        mut creds,
        ..
    } = r;
    diag::verbose(
        1,
        format!("{} is on {}", quote_name(&d.name), terminal_safe(&name)),
    );
    let mut conn = Connection::new(appliance, &mut creds, cache, &config.host_key);
    if let Some(s) = session {
        conn.set_session(s);
    }
    app::deliver(&mut conn, d, t).await
}

fn fleet_cache(fleet: &Fleet) -> Result<Option<SessionCache>> {
    if fleet.members.iter().all(|m| m.config.session_cache) {
        Ok(Some(SessionCache::new()?))
    } else {
        Ok(None)
    }
}

/// `devices` across the fleet: the union, with the appliance of each device.
pub async fn devices(fleet: Fleet, t: &DevicesTask) -> Result<()> {
    let cache = fleet_cache(&fleet)?;
    let known_hosts = KnownHosts::load(&KnownHosts::default_path()?)?;
    let creds = credentials(&fleet.members, cache.as_ref())?;
    let asks = fleet
        .members
        .into_iter()
        .zip(creds)
        .map(|(member, (mut creds, cached))| {
            let known = known_hosts.get(&member.config.host_key);
            let cache = cache.as_ref();
            async move {
                let work = async {
                    let mut conn = connect(&member, known, &mut creds, cache, cached)?;
                    let devices = lookup::collect_devices(&mut conn, t).await;
                    conn.finish_uncached().await;
                    let rows: Vec<Listed> = devices?
                        .into_iter()
                        .map(|device| Listed {
                            appliance: Some(member.name.clone()),
                            device,
                        })
                        .collect();
                    Ok(rows)
                };
                within(&member, "the device list", work)
                    .await
                    .map_err(|e| (label(&member), e))
            }
        });
    let outcomes: Vec<_> = progress::spin(
        "Listing devices of the fleet",
        futures_util::stream::iter(asks)
            .buffer_unordered(fleet.jobs.max(1))
            .collect::<Vec<_>>(),
    )
    .await;
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for o in outcomes {
        match o {
            Ok(mut r) => rows.append(&mut r),
            Err((who, e)) => {
                diag::warn(format!("{who} could not be asked: {e}"));
                failed.push(who);
            }
        }
    }
    rows.sort_by(|a, b| {
        (&a.device.name, &a.appliance, &a.device.id).cmp(&(
            &b.device.name,
            &b.appliance,
            &b.device.id,
        ))
    });
    output::write_stdout(&output::device_list(&rows, t.json, t.header))?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::FleetIncomplete {
            message: format!(
                "the listing is incomplete: {} appliance(s) could not be asked: {}",
                failed.len(),
                failed.join(", ")
            ),
        })
    }
}

/// Where devices were last seen: name -> appliance, for the names a group was asked about.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    updated_at: u64,
    entries: Vec<IndexEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct IndexEntry {
    name: String,
    appliance: String,
    id: String,
    #[serde(rename = "type")]
    device_type: String,
    viewers: Vec<Viewer>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Index {
    /// The index, if it exists and is younger than `max_age`.
    fn load(path: &std::path::Path, max_age: Duration) -> Option<Index> {
        let text = files::read_optional(path).ok()??;
        files::check_private(path, false).ok()?;
        let index: Index = serde_json::from_str(&text).ok()?;
        (now_secs().saturating_sub(index.updated_at) <= max_age.as_secs()).then_some(index)
    }

    /// The appliance a unique entry places the device on.
    fn locate(&self, query: &str, viewer: Viewer) -> Option<String> {
        let hits: Vec<&IndexEntry> = self
            .entries
            .iter()
            .filter(|e| e.viewers.contains(&viewer) && device::could_match(query, &e.id, &e.name))
            .collect();
        match hits.as_slice() {
            [one] => Some(one.appliance.clone()),
            _ => None,
        }
    }

    /// Record what a full lookup saw. The index only speeds up later lookups, so failing to
    /// write it is a note, not an error.
    fn record(path: &std::path::Path, reached: &[Reached], query: &str) {
        let mut index = Index::load(path, Duration::MAX).unwrap_or_default();
        let asked: Vec<&str> = reached.iter().map(|r| r.name.as_str()).collect();
        // Forget what the appliances that answered held for this query, then add what they hold.
        index.entries.retain(|e| {
            !(asked.contains(&e.appliance.as_str()) && device::could_match(query, &e.id, &e.name))
        });
        for r in reached {
            for d in r.found.takers.iter().chain(&r.found.others) {
                index.entries.push(IndexEntry {
                    name: d.name.clone(),
                    appliance: r.name.clone(),
                    id: d.id.clone(),
                    device_type: d.device_type.clone(),
                    viewers: d.viewers(),
                });
            }
        }
        index.updated_at = now_secs();
        match serde_json::to_string(&index) {
            Ok(text) => {
                if let Err(e) = files::write_private(path, text.as_bytes()) {
                    diag::verbose(1, format!("could not write the index: {e}"));
                }
            }
            Err(e) => diag::verbose(1, format!("could not encode the index: {e}")),
        }
    }
}

/// Where a group's index lives.
pub fn index_path(group: &str) -> Result<PathBuf> {
    let safe: String = group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(files::state_dir()?
        .join("index")
        .join(format!("{safe}.json")))
}
