// SPDX-License-Identifier: GPL-2.0

//! SP endpoint URLs: `tcp://HOST:PORT`, as given to `SP_BIND` and `SP_CONNECT`.
//!
//! HOST is a dotted IPv4 address, a bracketed IPv6 address (`[::1]`) or `*` (any address;
//! meaningful for bind only, the caller decides). Names are not resolved: the kernel has no
//! resolver, and a user who has a name has a resolver.

/// The host part of a URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Host {
    /// `*`: every local address.
    Any,
    /// An IPv4 address, network order.
    V4([u8; 4]),
    /// An IPv6 address, network order.
    V6([u8; 16]),
}

/// A parsed `tcp://` URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Url {
    /// Where.
    pub(crate) host: Host,
    /// TCP port, host order; 0 asks bind for any free port.
    pub(crate) port: u16,
}

/// Why a URL was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UrlError {
    /// Not `tcp://...`.
    Scheme,
    /// The host is not an address this parser accepts.
    Host,
    /// The port is missing or not a number in 0..=65535.
    Port,
}

/// Parses `tcp://HOST:PORT`.
pub(crate) fn parse(url: &[u8]) -> Result<Url, UrlError> {
    let rest = url.strip_prefix(b"tcp://").ok_or(UrlError::Scheme)?;
    let (host, port) = if let Some(v6) = rest.strip_prefix(b"[") {
        let end = v6.iter().position(|&c| c == b']').ok_or(UrlError::Host)?;
        let (addr, tail) = v6.split_at(end);
        let port = tail.strip_prefix(b"]:").ok_or(UrlError::Port)?;
        (Host::V6(parse_v6(addr).ok_or(UrlError::Host)?), port)
    } else {
        let colon = rest
            .iter()
            .rposition(|&c| c == b':')
            .ok_or(UrlError::Port)?;
        let (host, tail) = rest.split_at(colon);
        let port = tail.get(1..).ok_or(UrlError::Port)?;
        let host = if host == b"*" {
            Host::Any
        } else {
            Host::V4(parse_v4(host).ok_or(UrlError::Host)?)
        };
        (host, port)
    };
    let port = parse_dec(port, 0xffff).ok_or(UrlError::Port)?;
    Ok(Url {
        host,
        port: port as u16,
    })
}

/// A decimal number of 1..=5 digits not above `max`.
fn parse_dec(s: &[u8], max: u32) -> Option<u32> {
    if s.is_empty() || s.len() > 5 {
        return None;
    }
    s.iter()
        .try_fold(0u32, |n, &c| {
            let d = (c as char).to_digit(10)?;
            n.checked_mul(10)?.checked_add(d)
        })
        .filter(|&n| n <= max)
}

/// A dotted quad, each part 0..=255 in decimal without a sign or a leading zero.
///
/// A leading zero is refused rather than read as decimal: `inet_aton`, and so the
/// `getaddrinfo` that nng and nanomsg use, reads `010` as octal 8, `inet_pton` and Rust's
/// `Ipv4Addr` refuse it, and a URL must not name one host here and another there.
fn parse_v4(s: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split(|&c| c == b'.');
    for b in out.iter_mut() {
        let part = parts.next()?;
        if part.len() > 1 && part.first() == Some(&b'0') {
            return None;
        }
        *b = u8::try_from(parse_dec(part, 255)?).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// Up to eight 16-bit groups of an IPv6 address, in order.
struct Groups {
    /// The groups parsed so far.
    g: [u16; 8],
    /// How many.
    n: usize,
}

impl Groups {
    /// Appends one group; `None` past eight.
    fn push(&mut self, v: u16) -> Option<()> {
        *self.g.get_mut(self.n)? = v;
        self.n = self.n.checked_add(1)?;
        Some(())
    }

    /// Parses `a:b:c`, where only the last group may be a dotted quad if `v4_tail`.
    fn parse(part: &[u8], v4_tail: bool) -> Option<Self> {
        let mut out = Self { g: [0; 8], n: 0 };
        if part.is_empty() {
            return Some(out);
        }
        let mut groups = part.split(|&c| c == b':').peekable();
        while let Some(g) = groups.next() {
            if v4_tail && groups.peek().is_none() && g.contains(&b'.') {
                let [a, b, c, d] = parse_v4(g)?;
                out.push(u16::from_be_bytes([a, b]))?;
                out.push(u16::from_be_bytes([c, d]))?;
            } else if g.is_empty() || g.len() > 4 || !g.iter().all(u8::is_ascii_hexdigit) {
                return None;
            } else {
                out.push(u16::from_str_radix(core::str::from_utf8(g).ok()?, 16).ok()?)?;
            }
        }
        Some(out)
    }
}

/// RFC 4291 text form: eight groups of up to four hex digits, at most one `::`, and an
/// optional trailing dotted quad.
fn parse_v6(s: &[u8]) -> Option<[u8; 16]> {
    let mut groups = [0u16; 8];
    match s.windows(2).position(|w| w == b"::") {
        None => {
            let all = Groups::parse(s, true)?;
            if all.n != 8 {
                return None;
            }
            groups = all.g;
        }
        Some(i) => {
            let head = Groups::parse(s.get(..i)?, false)?;
            let tail = Groups::parse(s.get(i.checked_add(2)?..)?, true)?;
            // `::` stands for at least one zero group.
            let zeros = 8usize.checked_sub(head.n)?.checked_sub(tail.n)?;
            if zeros == 0 {
                return None;
            }
            groups
                .get_mut(..head.n)?
                .copy_from_slice(head.g.get(..head.n)?);
            groups
                .get_mut(8usize.checked_sub(tail.n)?..)?
                .copy_from_slice(tail.g.get(..tail.n)?);
        }
    }
    let mut out = [0u8; 16];
    for (o, g) in out.chunks_exact_mut(2).zip(groups) {
        o.copy_from_slice(&g.to_be_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> Option<[u8; 16]> {
        parse_v6(s.as_bytes())
    }

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(
            parse(b"tcp://127.0.0.1:5555"),
            Ok(Url {
                host: Host::V4([127, 0, 0, 1]),
                port: 5555
            })
        );
        let mut one = [0u8; 16];
        one[15] = 1;
        assert_eq!(
            parse(b"tcp://[::1]:80"),
            Ok(Url {
                host: Host::V6(one),
                port: 80
            })
        );
        // A lone zero is a part; zeros in front of the port are decimal, as for nng.
        assert_eq!(
            parse(b"tcp://0.0.0.0:05555"),
            Ok(Url {
                host: Host::V4([0; 4]),
                port: 5555
            })
        );
        assert_eq!(
            parse(b"tcp://*:0"),
            Ok(Url {
                host: Host::Any,
                port: 0
            })
        );
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        for bad in [
            &b"tcp://"[..],
            b"udp://1.2.3.4:5",
            b"tcp://1.2.3.4",
            b"tcp://1.2.3.4:",
            b"tcp://1.2.3.4:65536",
            b"tcp://1.2.3.4:-1",
            b"tcp://1.2.3:5",
            b"tcp://1.2.3.4.5:5",
            b"tcp://256.1.1.1:5",
            b"tcp://localhost:5",
            b"tcp://[::1:5",
            b"tcp://[::1]5",
            b"tcp://[1:2:3:4:5:6:7:8:9]:5",
            b"tcp://[1::2::3]:5",
            b"tcp://[12345::]:5",
            b"tcp://[+1::]:5",
            b"tcp://[1:2:3:4::5:6:7:8]:5",
            b"tcp://+1.2.3.4:5",
            // Octal to nng (inet_aton): 010 is 8 there.
            b"tcp://010.0.0.1:5",
            b"tcp://1.2.3.00:5",
            b"tcp://[::ffff:1.2.3.04]:5",
        ] {
            assert!(parse(bad).is_err(), "{:?}", core::str::from_utf8(bad));
        }
    }

    #[test]
    fn ipv6_text_forms() {
        let full = v6("2001:db8:0:0:1:0:0:1").unwrap();
        assert_eq!(v6("2001:db8::1:0:0:1"), Some(full));
        assert_eq!(v6("::"), Some([0; 16]));
        let mapped = v6("::ffff:10.1.2.3").unwrap();
        assert_eq!(&mapped[10..], &[0xff, 0xff, 10, 1, 2, 3]);
        assert_eq!(v6("1:2:3:4:5:6:7::"), v6("1:2:3:4:5:6:7:0"));
        assert_eq!(v6("1:2:3:4:5:6:7:8::"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = parse(&bytes);
            let _ = parse_v6(&bytes);
        }

        #[test]
        fn ipv4_round_trip(a: [u8; 4], port: u16) {
            let s = format!("tcp://{}.{}.{}.{}:{}", a[0], a[1], a[2], a[3], port);
            proptest::prop_assert_eq!(parse(s.as_bytes()), Ok(Url { host: Host::V4(a), port }));
        }

        #[test]
        fn ipv6_round_trip(a: [u8; 16], port: u16) {
            let ip = std::net::Ipv6Addr::from(a);
            let s = format!("tcp://[{}]:{}", ip, port);
            proptest::prop_assert_eq!(parse(s.as_bytes()), Ok(Url { host: Host::V6(a), port }));
        }
    }
}
