//! URLs: the ones the HTTP client can request exactly as they are, and their secrets, which
//! never appear in output.

use std::fmt;

/// Why a URL was refused: it is not one the HTTP client can request as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Longer than [`MAX_URL_LEN`] bytes.
    #[error("it is longer than {MAX_URL_LEN} bytes")]
    TooLong,
    /// Whitespace or a control character, around the URL or inside it.
    #[error("it holds whitespace or a control character ({0:?})")]
    Character(char),
    /// Whitespace or a control character in what may be its password: the character is not
    /// shown.
    #[error("its user info holds whitespace or a control character")]
    UserInfoCharacter,
    /// What follows `scheme://` is no host before the user info's last `@`: a `#`, `?` or
    /// `/` in a password ends the host part early unless written `%23`, `%3F`, `%2F`. What
    /// was read as the host or port may be a piece of the password, so it is not shown.
    #[error(
        "its host or port cannot be read before the user info's last `@` (a `#`, `?` or `/` in a password is written %23, %3F or %2F)"
    )]
    UserInfo,
    /// The URI grammar refuses it (the parser the HTTP client itself uses).
    #[error("it is not a URI ({0})")]
    Malformed(String),
    /// Not `http://` or `https://`.
    #[error("the scheme must be http or https")]
    Scheme,
    /// No host, or a host that is neither a name, an IPv4 address nor a bracketed IPv6 one.
    #[error("the host {0:?} is not a host name or an IP address")]
    Host(String),
    /// A port that is not a number from 1 to 65535.
    #[error("the port {0:?} is not a number from 1 to 65535")]
    Port(String),
}

/// The longest URL accepted, in bytes: longer than most servers take in a request line, and
/// a window's state records it.
pub const MAX_URL_LEN: usize = 8192;

/// An `http` or `https` URL that the HTTP client can request exactly as it is, and whose
/// secrets never appear in output: `Display` and `Debug` show only the scheme, host and port.
///
/// Parsed with the `http` crate's [`http::Uri`], the type ureq builds its requests from, and
/// then held to more than that grammar: the scheme is http or https; the host is a name
/// (letters, digits, `-`, `_`, dots between labels), an IPv4 address or a bracketed IPv6
/// address; a port is 1 to 65535; no whitespace or control character anywhere.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Accepts an `http://` or `https://` URL the HTTP client can request as it is; `None`
    /// otherwise. [`SecretUrl::new`] says why.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::new(raw).ok()
    }

    /// Accepts an `http://` or `https://` URL the HTTP client can request as it is.
    ///
    /// # Errors
    /// [`UrlError`] saying what is wrong with it.
    pub fn new(raw: &str) -> Result<Self, UrlError> {
        if raw.len() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        // What may be a password is never quoted in an error, not even one character of it.
        let hidden = userinfo_span(raw);
        let is_hidden = |at: usize| hidden.as_ref().is_some_and(|span| span.contains(&at));
        if let Some((at, c)) = raw
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || c.is_control())
        {
            return Err(if is_hidden(at) {
                UrlError::UserInfoCharacter
            } else {
                UrlError::Character(c)
            });
        }
        let is_web = |s: &str| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https");
        if !raw
            .split_once("://")
            .is_some_and(|(scheme, _)| is_web(scheme))
        {
            return Err(UrlError::Scheme);
        }
        let uri: http::Uri = raw
            .parse()
            .map_err(|e: http::uri::InvalidUri| UrlError::Malformed(e.to_string()))?;
        if !uri.scheme_str().is_some_and(is_web) {
            return Err(UrlError::Scheme);
        }
        let authority = uri.authority().map(http::uri::Authority::as_str);
        let host_port = authority
            .map(|a| a.rsplit_once('@').map_or(a, |(_, host)| host))
            .unwrap_or_default();
        // An `@` past the authority: what the authority holds may be the start of a password
        // (`http://admin:hunter#2@host/`), so no piece of it is quoted.
        let quotable = !at_past_authority(raw);
        let hide = |e: UrlError| if quotable { e } else { UrlError::UserInfo };
        let (host, port) = split_host_port(host_port).map_err(hide)?;
        if !is_host(host) {
            return Err(hide(UrlError::Host(crate::text::clip(host))));
        }
        if let Some(port) = port
            && !(port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok_and(|p| p != 0))
        {
            return Err(hide(UrlError::Port(crate::text::clip(port))));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The whole URL, secrets included: for the HTTP client only, never for output.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `scheme://host[:port]`, with any credentials, path, query and fragment left out.
    #[must_use]
    pub fn redacted(&self) -> String {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("http", &self.0));
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // With an `@` past the authority, the authority may be a piece of a password.
        let host = if at_past_authority(&self.0) {
            "***"
        } else {
            authority.rsplit('@').next().unwrap_or_default()
        };
        let hidden = rest.len() > host.len();
        format!(
            "{}://{host}{}",
            scheme.to_ascii_lowercase(),
            if hidden { "/…" } else { "" }
        )
    }

    /// The URL with its user info, if any, shown as `***`: path and query kept.
    #[must_use]
    pub fn without_userinfo(&self) -> String {
        hide_userinfo(&self.0)
    }
}

/// Whether `name` is a URI scheme (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`).
fn is_scheme(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Where a person's user info in `raw` may be, whatever its password holds: from after
/// `scheme://` (from the start when `raw` has no scheme) to the value's last `@`.
///
/// This is wider than RFC 3986's user info, which ends at the first `/`, `?` or `#`: a
/// password written without percent-encoding (`http://admin:hunter#2@host/`) would then be
/// shown in part. A path or query holding an `@` is hidden with it; that is the price of
/// never showing a character of a password.
fn userinfo_span(raw: &str) -> Option<std::ops::Range<usize>> {
    let start = raw
        .find("://")
        .filter(|&i| raw.get(..i).is_some_and(is_scheme))
        .map_or(0, |i| i.saturating_add(3));
    let at = raw.rfind('@')?;
    (at >= start).then_some(start..at)
}

/// Where `raw`'s authority ends as an HTTP client reads it (RFC 3986): at the first `/`, `?`
/// or `#` after `scheme://`.
fn authority_end(raw: &str) -> usize {
    let start = raw.find("://").map_or(0, |i| i.saturating_add(3));
    let rest = raw.get(start..).unwrap_or_default();
    start.saturating_add(rest.find(['/', '?', '#']).unwrap_or(rest.len()))
}

/// Whether `raw` has an `@` past its authority: then what the authority holds may be a piece
/// of a password that was not percent-encoded.
fn at_past_authority(raw: &str) -> bool {
    raw.rfind('@').is_some_and(|at| at >= authority_end(raw))
}

/// `raw` with everything that may be its user info (`user:secret@`) shown as `***@`, whether
/// or not `raw` is a valid URL: how every message shows a URL, refused ones included. All
/// between `scheme://` and the value's last `@` is hidden, so no character of a password is
/// shown, whatever it holds (`#`, `?`, `/`, `@`, spaces, `%`).
#[must_use]
pub fn hide_userinfo(raw: &str) -> String {
    match userinfo_span(raw) {
        Some(span) => format!(
            "{}***{}",
            raw.get(..span.start).unwrap_or_default(),
            raw.get(span.end..).unwrap_or_default()
        ),
        None => raw.to_owned(),
    }
}

/// `text` with every trace of `url`'s user info replaced ([`Secrets::scrub`]). For messages
/// that came from an HTTP client or a server, which may quote the URL or the credentials they
/// were given.
#[must_use]
pub fn scrub_userinfo(text: &str, url: &str) -> String {
    Secrets::of(url).scrub(text)
}

/// Every form in which a URL's user info is written or sent, to take out of text that came
/// from outside: the whole URL (shown with `***` instead), the user info and its user and
/// password as written, percent-decoded and percent-encoded, and `user:password` in base64 as
/// the `Authorization: Basic` header carries it (padded or not, standard or URL-safe
/// alphabet). A form shorter than 3 characters is too common to replace without mangling the
/// text, and is left.
#[derive(Clone, Default)]
pub struct Secrets {
    /// The URL as written, and as shown.
    url: Option<(String, String)>,
    /// The forms, longest first, so a whole form is replaced before its pieces.
    forms: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} forms)", self.forms.len())
    }
}

impl Secrets {
    /// No secret: [`scrub`](Self::scrub) still takes out `Basic` credentials.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// The forms of `url`'s user info; none when it has none.
    #[must_use]
    pub fn of(url: &str) -> Self {
        let Some(span) = userinfo_span(url) else {
            return Self::none();
        };
        let userinfo = url.get(span).unwrap_or_default();
        let mut written: Vec<String> = vec![userinfo.to_owned()];
        if let Some((user, password)) = userinfo.split_once(':') {
            written.extend([password.to_owned(), user.to_owned()]);
        }
        let mut forms = written.clone();
        for form in &written {
            let decoded = percent_decode(form);
            forms.push(percent_encode(&decoded, false));
            forms.push(percent_encode(&decoded, true));
            if let Ok(decoded) = String::from_utf8(decoded) {
                forms.push(decoded);
            }
        }
        // What the client sends: `user:password`, each percent-decoded (RFC 3986).
        if let (_, Some(credentials)) = split_credentials(url) {
            let both = credentials.user_password();
            forms.extend(base64_forms(both));
            // A server that echoes the token changed around its parts (another user, another
            // separator) still shows what the user and the password alone decide.
            let (user, password) = match both.iter().position(|b| *b == b':') {
                Some(at) => (both.get(..at), both.get(at.saturating_add(1)..)),
                None => (Some(both), None),
            };
            for part in [Some(both), user, password].into_iter().flatten() {
                forms.extend(
                    base64_cores(part)
                        .into_iter()
                        .filter(|core| core.len() >= MIN_BASE64_CORE),
                );
            }
        }
        forms.retain(|s| s.chars().count() >= 3);
        forms.sort_by_key(|s| std::cmp::Reverse(s.len()));
        forms.dedup();
        Self {
            url: Some((url.to_owned(), hide_userinfo(url))),
            forms,
        }
    }

    /// `text` with the URL shown with `***`, every form of its user info replaced by `***`,
    /// and the token of any `Basic` credentials (base64 of `user:password`) replaced by
    /// `***`, whatever they are: a server may echo the `Authorization` header it received.
    #[must_use]
    pub fn scrub(&self, text: &str) -> String {
        let mut out = match &self.url {
            Some((url, shown)) if text.contains(url.as_str()) => text.replace(url, shown),
            _ => text.to_owned(),
        };
        for form in &self.forms {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), "***");
            }
        }
        scrub_basic_tokens(&out)
    }

    /// `text` scrubbed ([`scrub`](Self::scrub)), then quoted ([`crate::text::quote`]): how a
    /// reason shows text that came from outside. Scrubbed whole first, so a cut never leaves
    /// a piece of a secret.
    #[must_use]
    pub fn quote(&self, text: &str) -> String {
        crate::text::quote(&self.scrub(text))
    }
}

/// `bytes` percent-encoded: every byte but RFC 3986's unreserved characters as `%XX`, in upper
/// or lower case hex.
fn percent_encode(bytes: &[u8], lower: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else if lower {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `bytes` in base64, padded and not, in the standard and the URL-safe alphabets.
fn base64_forms(bytes: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .map(|engine| engine.encode(bytes))
        .collect()
}

/// The shortest piece of base64 taken for a secret's: shorter ones are too common to replace
/// without mangling the text.
const MIN_BASE64_CORE: usize = 6;

/// The base64 characters that `bytes` alone decide, wherever they start in a longer base64
/// text (after 0, 1 or 2 other bytes), in the standard and the URL-safe alphabets.
fn base64_cores(bytes: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut cores = Vec::new();
    for before in 0..3_usize {
        let mut text = vec![0_u8; before];
        text.extend_from_slice(bytes);
        // Character i holds bits 6i..6i+6; the bytes' own are 8*before..8*text.len().
        let first = before.saturating_mul(8).div_ceil(6);
        let end = text.len().saturating_mul(8) / 6;
        for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
            if let Some(core) = engine.encode(&text).get(first..end) {
                cores.push(core.to_owned());
            }
        }
    }
    cores
}

/// `text` with the token after every `Basic ` (any case) that is base64 of `user:password`
/// replaced by `***`.
fn scrub_basic_tokens(text: &str) -> String {
    const SCHEME: &str = "basic ";
    let lower = text.to_ascii_lowercase();
    if !lower.contains(SCHEME) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (at, _) in lower.match_indices(SCHEME) {
        let start = at.saturating_add(SCHEME.len());
        if start < from {
            continue;
        }
        let rest = text.get(start..).unwrap_or_default();
        let len = rest
            .find(|c: char| {
                !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_' | '='))
            })
            .unwrap_or(rest.len());
        let token = rest.get(..len).unwrap_or_default();
        if is_basic_credentials(token) {
            out.push_str(text.get(from..start).unwrap_or_default());
            out.push_str("***");
            from = start.saturating_add(len);
        }
    }
    out.push_str(text.get(from..).unwrap_or_default());
    out
}

/// Whether `token` is base64 (either alphabet, padded or not) of bytes holding a `:`.
fn is_basic_credentials(token: &str) -> bool {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let bare = token.trim_end_matches('=');
    bare.len() >= 2
        && [STANDARD_NO_PAD, URL_SAFE_NO_PAD]
            .iter()
            .any(|engine| engine.decode(bare).is_ok_and(|b| b.contains(&b':')))
}

/// `s` percent-decoded (RFC 3986): `%XX` is the byte `XX`; a `%` not followed by two hex
/// digits stays as it is.
#[must_use]
pub fn percent_decode(s: &str) -> Vec<u8> {
    let hex = |c: u8| char::from(c).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%'
            && let Some(([high, low], after)) = tail.split_first_chunk::<2>()
            && let (Some(high), Some(low)) = (hex(*high), hex(*low))
            && let Some(byte) = high
                .checked_mul(16)
                .and_then(|h| h.checked_add(low))
                .and_then(|v| u8::try_from(v).ok())
        {
            out.push(byte);
            rest = after;
            continue;
        }
        out.push(b);
        rest = tail;
    }
    out
}

/// The credentials of a URL's user info, decoded, as an HTTP client sends them: the bytes of
/// `user:password` for `Authorization: Basic`. Never shown: `Debug` says only that there are
/// some.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(Vec<u8>);

impl Credentials {
    /// `user:password`, each percent-decoded (RFC 3986); `user:` when there is no password.
    #[must_use]
    pub fn user_password(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(***)")
    }
}

/// `raw` split, as an HTTP client requests it (RFC 3986), into the URL without its user info
/// and the user info's credentials, percent-decoded: `http://bob:p%40ss@host/` is requested as
/// `http://host/` with the credentials `bob:p@ss`, as curl sends them. `None` when it has no
/// user info.
#[must_use]
pub fn split_credentials(raw: &str) -> (String, Option<Credentials>) {
    let start = raw.find("://").map_or(0, |i| i.saturating_add(3));
    let end = authority_end(raw);
    let authority = raw.get(start..end).unwrap_or_default();
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (raw.to_owned(), None);
    };
    let url = format!(
        "{}{host}{}",
        raw.get(..start).unwrap_or_default(),
        raw.get(end..).unwrap_or_default()
    );
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let mut token = percent_decode(user);
    token.push(b':');
    token.extend(percent_decode(password));
    (url, Some(Credentials(token)))
}

/// Splits `host[:port]` (the host maybe a bracketed IPv6 address).
fn split_host_port(host_port: &str) -> Result<(&str, Option<&str>), UrlError> {
    let split = if host_port.starts_with('[') {
        host_port
            .find(']')
            .and_then(|close| host_port.split_at_checked(close.saturating_add(1)))
    } else {
        Some(
            host_port
                .find(':')
                .map_or((host_port, ""), |colon| host_port.split_at(colon)),
        )
    };
    let Some((host, rest)) = split else {
        return Err(UrlError::Host(host_port.to_owned()));
    };
    match rest.strip_prefix(':') {
        Some(port) => Ok((host, Some(port))),
        None if rest.is_empty() => Ok((host, None)),
        None => Err(UrlError::Host(host_port.to_owned())),
    }
}

/// A bracketed IPv6 address, or a DNS name or IPv4 address: labels of letters, digits, `-`
/// and `_`, not starting with `-`, separated by single dots (a trailing dot allowed).
fn is_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        })
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
    }
}
