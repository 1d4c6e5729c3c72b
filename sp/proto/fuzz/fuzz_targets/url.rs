// SPDX-License-Identifier: GPL-2.0

//! `url::parse` against a parser built on the standard library's address
//! parsers, and a round trip through the canonical text of every URL it
//! accepts.

#![no_main]

#[allow(dead_code)]
#[path = "../../mod.rs"]
mod proto;

use libfuzzer_sys::fuzz_target;
use proto::url::{parse, Host, Url, UrlError};
use std::net::{Ipv4Addr, Ipv6Addr};

fn text(s: &[u8]) -> Option<&str> {
    std::str::from_utf8(s).ok()
}

/// `tcp://HOST:PORT` as the documentation describes it, with the addresses
/// read by `std::net`.
fn model(url: &[u8]) -> Result<Url, UrlError> {
    let rest = url.strip_prefix(b"tcp://").ok_or(UrlError::Scheme)?;
    let (host, port) = if let Some(v6) = rest.strip_prefix(b"[") {
        let end = v6.iter().position(|&c| c == b']').ok_or(UrlError::Host)?;
        let port = v6[end..].strip_prefix(b"]:").ok_or(UrlError::Port)?;
        let addr = text(&v6[..end])
            .and_then(|s| s.parse::<Ipv6Addr>().ok())
            .ok_or(UrlError::Host)?;
        (Host::V6(addr.octets()), port)
    } else {
        let colon = rest
            .iter()
            .rposition(|&c| c == b':')
            .ok_or(UrlError::Port)?;
        let host = match &rest[..colon] {
            b"*" => Host::Any,
            v4 => Host::V4(
                text(v4)
                    .and_then(|s| s.parse::<Ipv4Addr>().ok())
                    .ok_or(UrlError::Host)?
                    .octets(),
            ),
        };
        (host, &rest[colon + 1..])
    };
    let port = text(port)
        .filter(|p| (1..=5).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or(UrlError::Port)?;
    Ok(Url { host, port })
}

/// The canonical text of a URL.
fn format(url: &Url) -> String {
    match url.host {
        Host::Any => format!("tcp://*:{}", url.port),
        Host::V4(a) => format!("tcp://{}:{}", Ipv4Addr::from(a), url.port),
        Host::V6(a) => format!("tcp://[{}]:{}", Ipv6Addr::from(a), url.port),
    }
}

fuzz_target!(|data: &[u8]| {
    let got = parse(data);
    assert_eq!(got, model(data), "{:?}", String::from_utf8_lossy(data));
    if let Ok(url) = got {
        assert_eq!(parse(format(&url).as_bytes()), Ok(url));
    }
});
