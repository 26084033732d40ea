//! Finding devices on one appliance: the queries a viewer needs, the device a name or id
//! names, and the error that explains a miss (the device takes another viewer, or close names
//! to try). Shared by launches, `check`, `devices` and fleet lookups.

use crate::api;
use crate::config::DevicesTask;
use crate::device::{self, Device, Resolution, Suggester};
use crate::diag;
use crate::error::{Error, Result};
use crate::sanitize::quote_name;
use crate::session::Connection;
use crate::viewer::{self, Viewer};

/// Devices found for a launch query, split by whether they take the viewer.
#[derive(Debug)]
pub(crate) struct Found {
    pub takers: Vec<Device>,
    pub others: Vec<Device>,
    pub suggestions: Vec<String>,
}

/// Query the device types and keep only the devices the query could name.
/// With `suggest`, also keep the names closest to the query among the devices that take the
/// viewer; scoring every name costs time, so a launch does it only once the name was not found.
pub(crate) async fn find(
    conn: &mut Connection<'_>,
    query: &str,
    viewer: Viewer,
    device_types: &[&str],
    suggest: bool,
) -> Result<Found> {
    let types: Vec<Option<&str>> = device_types.iter().copied().map(Some).collect();
    let mut found = Found {
        takers: Vec::new(),
        others: Vec::new(),
        suggestions: Vec::new(),
    };
    let mut suggester = Suggester::new(query, 5);
    let mut each = |raw: api::RawDevice<'_>| {
        let takes = viewer.takes(&raw.device_type, raw.path_types());
        if takes && suggest {
            suggester.offer(&raw.name);
        }
        if device::could_match(query, &raw.id, &raw.name) {
            let d = raw.to_device();
            let already = found
                .takers
                .iter()
                .chain(&found.others)
                .any(|o| o.id == d.id);
            if !already {
                if takes {
                    found.takers.push(d);
                } else {
                    found.others.push(d);
                }
            }
        }
    };
    conn.call(async |a, s| {
        a.device_lists(s, &types, (!suggest).then_some(query), &mut each)
            .await
    })
    .await?;
    // Concurrent queries (HTTP/2) interleave their devices: put them back in query order, so
    // that messages list them the same way on every run and over either protocol.
    let rank = |d: &Device| {
        device_types
            .iter()
            .position(|t| *t == d.device_type)
            .unwrap_or(device_types.len())
    };
    found.takers.sort_by_key(rank);
    found.others.sort_by_key(rank);
    found.suggestions = suggester.into_names();
    Ok(found)
}

/// Find the one device `query` names among those that take `viewer`.
pub(crate) async fn resolve_device(
    conn: &mut Connection<'_>,
    query: &str,
    viewer: Viewer,
) -> Result<Device> {
    let wanted = viewer::device_types_for(&[viewer]);
    let found = find(conn, query, viewer, &wanted, false).await?;
    match device::resolve(query, &found.takers) {
        Resolution::Found(d) => Ok(d.clone()),
        Resolution::Ambiguous(ds) => Err(Error::AmbiguousDevice {
            query: quote_name(query),
            viewer,
            matches: ds.iter().map(|d| d.summary()).collect(),
        }),
        Resolution::NotFound => Err(not_taken(conn, query, viewer, found).await),
    }
}

/// The error for a device the viewer's types do not hold: it may exist with other viewers.
pub(crate) async fn not_taken(
    conn: &mut Connection<'_>,
    query: &str,
    viewer: Viewer,
    found: Found,
) -> Error {
    let mut others = found.others;
    let mut suggestions = found.suggestions;
    if device::resolve(query, &others) == Resolution::NotFound {
        // Look among every type a viewer takes, and gather close names on the way.
        match find(
            conn,
            query,
            viewer,
            &viewer::device_types_for(&Viewer::ALL),
            true,
        )
        .await
        {
            Ok(more) => {
                others.extend(more.others);
                others.sort_by(|a, b| a.id.cmp(&b.id));
                others.dedup_by(|a, b| a.id == b.id);
                suggestions = more.suggestions;
            }
            Err(e) => diag::verbose(
                1,
                format!("could not look for the device among other types: {e}"),
            ),
        }
    }
    match device::resolve(query, &others) {
        Resolution::Found(d) => Error::WrongViewer {
            name: d.name.clone(),
            requested: viewer,
            takes: d.viewers(),
        },
        Resolution::Ambiguous(ds) => Error::WrongViewer {
            name: ds[0].name.clone(),
            requested: viewer,
            takes: ds[0].viewers(),
        },
        Resolution::NotFound => Error::DeviceNotFound {
            query: quote_name(query),
            viewer,
            suggestions,
        },
    }
}

/// The devices a `devices` command asks for, from one appliance, in no particular order.
pub(crate) async fn collect_devices(
    conn: &mut Connection<'_>,
    t: &DevicesTask,
) -> Result<Vec<Device>> {
    let types: Vec<Option<&str>> = match (&t.device_type, t.viewer) {
        (Some(ty), _) => vec![Some(ty.as_str())],
        (None, Some(v)) => viewer::device_types_for(&[v])
            .into_iter()
            .map(Some)
            .collect(),
        (None, None) => vec![None],
    };
    let mut devices: Vec<Device> = Vec::new();
    let mut each = |raw: api::RawDevice<'_>| {
        let keep = t
            .viewer
            .is_none_or(|v| v.takes(&raw.device_type, raw.path_types()))
            && t.device_type
                .as_deref()
                .is_none_or(|ty| raw.device_type == ty)
            && t.name
                .as_deref()
                .is_none_or(|p| device::name_matches(p, &raw.name));
        if keep {
            devices.push(raw.to_device());
        }
    };
    conn.call(async |a, s| a.device_lists(s, &types, None, &mut each).await)
        .await?;
    Ok(devices)
}
