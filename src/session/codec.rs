//! Encrypted cookies: AES-256-GCM with a random nonce and the cookie's name as associated
//! data, written as URL-safe base64 and split into numbered chunks when the sealed value is
//! larger than browsers accept in one cookie.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cookie::{Cookie, Key, SameSite};
use http::header::{GetAll, COOKIE};
use http::HeaderValue;
use rand::RngCore;

use super::cookies::{cookie_pairs, name_and_value, Pairs};

/// Browsers accept about 4096 bytes per cookie, name and attributes included.
const CHUNK_SIZE: usize = 3800;
/// A hard bound on chunks read: anything larger is not ours.
pub(crate) const MAX_CHUNKS: usize = 8;
// `find_chunks_in` records the chunks it found as bits of a `u32`.
const _: () = assert!(MAX_CHUNKS < 32);

/// Bytes of the random nonce that starts every sealed value.
const NONCE_LEN: usize = 12;
/// Bytes of the authentication tag that ends it.
const TAG_LEN: usize = 16;

/// Seals values into cookies and opens them again.
#[derive(Clone)]
pub(crate) struct CookieCodec {
    /// Expanded once from the key's encryption half; wiped when dropped.
    cipher: Aes256Gcm,
    /// Expanded once from each key replaced in a rotation: they open, never seal.
    previous: Vec<Aes256Gcm>,
    secure: bool,
    path: String,
}

/// The sealed value of a chunked cookie as the request carried it: bytes not yet checked,
/// which only a cache miss turns into text. The parts live inline, since finding them is on
/// every request's path.
pub(crate) struct SealedChunks<'a> {
    parts: [&'a [u8]; MAX_CHUNKS],
    count: usize,
}

impl<'a> SealedChunks<'a> {
    /// The chunks in order, at least one.
    pub(crate) fn parts(&self) -> &[&'a [u8]] {
        self.parts.get(..self.count).unwrap_or(&[])
    }

    pub(crate) fn len(&self) -> usize {
        self.parts().iter().map(|part| part.len()).sum()
    }

    /// The whole value.
    pub(crate) fn joined(&self) -> Vec<u8> {
        self.parts().concat()
    }

    /// Compares without joining.
    pub(crate) fn equals(&self, whole: &[u8]) -> bool {
        if self.len() != whole.len() {
            return false;
        }
        let mut rest = whole;
        for part in self.parts() {
            let (head, tail) = rest.split_at(part.len());
            if head != *part {
                return false;
            }
            rest = tail;
        }
        true
    }

    /// The last bytes of the value: the AEAD tag, unique per sealing, so a good cache key.
    pub(crate) fn tail(&self) -> &[u8] {
        let last = self.parts().last().copied().unwrap_or(&[]);
        let start = last.len().saturating_sub(TAIL_LEN);
        last.get(start..).unwrap_or(last)
    }
}

/// Separates the cookie key from keys derived from the same secret for other purposes.
const KEY_INFO: &[u8] = b"tower-oidc session cookie key\0";

/// Base64 characters at the end of a sealed value that are all AEAD tag.
const TAIL_LEN: usize = 16;

impl CookieCodec {
    /// A codec whose cookies open only under the same `key` and the same `binding` (the
    /// client id and issuer), so two applications that share a secret key never accept
    /// each other's sessions.
    pub(crate) fn new(key: Key, binding: &[u8], secure: bool, path: String) -> Self {
        Self {
            cipher: derive_cipher(&key, binding),
            previous: Vec::new(),
            secure,
            path,
        }
    }

    /// The codec also opens cookies sealed with `keys`, the keys of a rotation that came
    /// before the one it seals with.
    pub(crate) fn with_previous_keys(mut self, keys: &[Key], binding: &[u8]) -> Self {
        self.previous = keys.iter().map(|key| derive_cipher(key, binding)).collect();
        self
    }

    /// Encrypts `plaintext`, authenticated together with `name`: URL-safe base64 of the
    /// nonce, the ciphertext and the tag. `None` only for a plaintext beyond AES-GCM's
    /// limit (64 GB).
    pub(crate) fn seal(&self, name: &str, plaintext: &[u8]) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: name.as_bytes(),
        };
        let ciphertext = self.cipher.encrypt(&Nonce::from(nonce), payload).ok()?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Some(URL_SAFE_NO_PAD.encode(sealed))
    }

    /// Decrypts a value sealed under `name`, with the current key or a previous one;
    /// `None` for anything tampered or foreign.
    pub(crate) fn open(&self, name: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        self.open_telling_key(name, sealed)
            .map(|(plaintext, _)| plaintext)
    }

    /// As [`open`](Self::open), also telling which key sealed the value.
    pub(crate) fn open_telling_key(
        &self,
        name: &str,
        sealed: &[u8],
    ) -> Option<(Vec<u8>, SealedWith)> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let nonce = Nonce::from(nonce);
        let decrypt = |cipher: &Aes256Gcm| {
            let payload = Payload {
                msg: ciphertext,
                aad: name.as_bytes(),
            };
            cipher.decrypt(&nonce, payload).ok()
        };
        if let Some(plaintext) = decrypt(&self.cipher) {
            return Some((plaintext, SealedWith::CurrentKey));
        }
        self.previous
            .iter()
            .find_map(decrypt)
            .map(|plaintext| (plaintext, SealedWith::PreviousKey))
    }

    /// The chunks of cookie `base` in the request (`base.0`, `base.1`, ...), if complete.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn find_chunks<'a>(
        &self,
        headers: &'a http::HeaderMap,
        base: &str,
    ) -> Option<SealedChunks<'a>> {
        self.find_chunks_in(&headers.get_all(COOKIE), base)
    }

    /// As [`find_chunks`](Self::find_chunks), among `Cookie` headers already looked up.
    pub(crate) fn find_chunks_in<'a>(
        &self,
        cookies: &GetAll<'a, HeaderValue>,
        base: &str,
    ) -> Option<SealedChunks<'a>> {
        let mut parts: [&'a [u8]; MAX_CHUNKS] = [&[]; MAX_CHUNKS];
        // Bit `i` set: chunk `i` was found. The first cookie of a name wins.
        let mut seen: u32 = 0;
        // `cookie_pairs`, as plain loops: this runs on every request.
        for header in cookies.iter() {
            for pair in Pairs::of(header.as_bytes()) {
                let Some((name, value)) = name_and_value(pair) else {
                    continue;
                };
                let Some(index) = chunk_index(name, base) else {
                    continue;
                };
                let bit: u32 = 1 << index;
                if seen & bit == 0 {
                    if let Some(slot) = parts.get_mut(index) {
                        *slot = value;
                        seen |= bit;
                    }
                }
            }
        }
        // Complete: every chunk up to the last one seen is there, so the bits set are the
        // lowest ones.
        if seen == 0 || seen & (seen + 1) != 0 {
            return None;
        }
        Some(SealedChunks {
            parts,
            count: seen.trailing_ones() as usize,
        })
    }

    /// How many chunk cookies of `base` the request carries (to delete extra ones).
    pub(crate) fn count_chunks(&self, headers: &http::HeaderMap, base: &str) -> usize {
        self.count_chunks_in(&headers.get_all(COOKIE), base)
    }

    /// As [`count_chunks`](Self::count_chunks), among `Cookie` headers already looked up.
    pub(crate) fn count_chunks_in(&self, cookies: &GetAll<'_, HeaderValue>, base: &str) -> usize {
        cookie_pairs(cookies)
            .filter_map(|(name, _)| chunk_index(name, base))
            .map(|index| index + 1)
            .max()
            .unwrap_or(0)
            .min(MAX_CHUNKS)
    }

    /// `Set-Cookie` values writing `sealed` as chunks of `base`, deleting chunks beyond them
    /// that the request still carried.
    pub(crate) fn write_chunks(
        &self,
        base: &str,
        sealed: &str,
        max_age_secs: u64,
        carried: usize,
    ) -> Vec<HeaderValue> {
        let chunks: Vec<&str> = sealed
            .as_bytes()
            .chunks(CHUNK_SIZE)
            .filter_map(|chunk| std::str::from_utf8(chunk).ok())
            .collect();
        let mut headers: Vec<HeaderValue> = chunks
            .iter()
            .enumerate()
            .filter_map(|(index, chunk)| {
                self.set_cookie(&format!("{base}.{index}"), chunk, Some(max_age_secs))
            })
            .collect();
        headers.extend(
            (chunks.len()..carried).filter_map(|index| self.removal(&format!("{base}.{index}"))),
        );
        headers
    }

    /// `Set-Cookie` values deleting `count` chunks of `base`.
    pub(crate) fn remove_chunks(&self, base: &str, count: usize) -> Vec<HeaderValue> {
        (0..count.max(1))
            .filter_map(|index| self.removal(&format!("{base}.{index}")))
            .collect()
    }

    pub(crate) fn set_cookie(
        &self,
        name: &str,
        value: &str,
        max_age_secs: Option<u64>,
    ) -> Option<HeaderValue> {
        let mut cookie = Cookie::new(name.to_owned(), value.to_owned());
        cookie.set_http_only(true);
        cookie.set_secure(self.secure);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_path(self.path.clone());
        if let Some(secs) = max_age_secs {
            let secs = i64::try_from(secs).unwrap_or(i64::MAX);
            cookie.set_max_age(cookie::time::Duration::seconds(secs));
        }
        HeaderValue::from_str(&cookie.to_string()).ok()
    }

    pub(crate) fn removal(&self, name: &str) -> Option<HeaderValue> {
        let mut cookie = Cookie::new(name.to_owned(), "");
        cookie.set_http_only(true);
        cookie.set_secure(self.secure);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_path(self.path.clone());
        cookie.make_removal();
        HeaderValue::from_str(&cookie.to_string()).ok()
    }
}

/// Which key sealed a value that opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SealedWith {
    CurrentKey,
    /// A key replaced in a rotation: the value is to be sealed again with the current one.
    PreviousKey,
}

/// The AES-256-GCM cipher of `key` for cookies bound to `binding`.
fn derive_cipher(key: &Key, binding: &[u8]) -> Aes256Gcm {
    let mut derived = [0u8; 32];
    let mut info = Vec::with_capacity(KEY_INFO.len() + binding.len());
    info.extend_from_slice(KEY_INFO);
    info.extend_from_slice(binding);
    hkdf::Hkdf::<sha2::Sha256>::new(None, key.encryption())
        .expand(&info, &mut derived)
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 output length"));
    Aes256Gcm::new_from_slice(&derived)
        .unwrap_or_else(|_| unreachable!("the derived key is 32 bytes"))
}

fn chunk_index(name: &[u8], base: &str) -> Option<usize> {
    let suffix = name.strip_prefix(base.as_bytes())?.strip_prefix(b".")?;
    let [digit @ b'0'..=b'9'] = suffix else {
        return None;
    };
    let index = usize::from(digit - b'0');
    (index < MAX_CHUNKS).then_some(index)
}

#[cfg(test)]
mod tests {
    use http::header::COOKIE;
    use http::HeaderMap;

    use super::*;

    fn codec() -> CookieCodec {
        CookieCodec::new(Key::generate(), b"client\0issuer", true, "/".into())
    }

    fn request_with(set_cookies: &[HeaderValue]) -> HeaderMap {
        let pairs: Vec<String> = set_cookies
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.split(';').next().map(str::to_owned))
            .collect();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, pairs.join("; ").parse().expect("header"));
        headers
    }

    #[test]
    fn round_trip_in_chunks() {
        let codec = codec();
        let big = "x".repeat(9000);
        let sealed = codec.seal("s", big.as_bytes()).expect("sealed");
        let set = codec.write_chunks("s", &sealed, 60, 0);
        assert_eq!(set.len(), 4);
        let attrs = set[0].to_str().expect("ascii");
        for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=60"] {
            assert!(attrs.contains(attr), "{attrs}");
        }
        let headers = request_with(&set);
        let chunks = codec.find_chunks(&headers, "s").expect("chunks");
        assert!(chunks.equals(sealed.as_bytes()));
        assert_eq!(
            codec.open("s", &chunks.joined()).as_deref(),
            Some(big.as_bytes())
        );
    }

    #[test]
    fn tampering_and_foreign_keys_fail() {
        let codec = codec();
        let sealed = codec.seal("s", b"hello").expect("sealed");
        assert_eq!(
            codec.open("s", sealed.as_bytes()).as_deref(),
            Some(&b"hello"[..])
        );
        for at in 0..sealed.len() {
            let mut tampered = sealed.clone().into_bytes();
            tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
            assert_eq!(codec.open("s", &tampered), None, "byte {at}");
        }
        assert_eq!(codec.open("s", &sealed.as_bytes()[1..]), None);
        assert_eq!(codec.open("other-name", sealed.as_bytes()), None);
        assert_eq!(self::codec().open("s", sealed.as_bytes()), None);
        assert_eq!(codec.open("s", b""), None);
        assert_eq!(codec.open("s", b"%%%"), None);
        // Nonce and tag alone (an empty plaintext) still authenticate; fewer bytes never.
        let empty = codec.seal("s", b"").expect("sealed");
        assert_eq!(codec.open("s", empty.as_bytes()).as_deref(), Some(&b""[..]));
        assert_eq!(codec.open("s", &empty.as_bytes()[..empty.len() - 2]), None);
    }

    #[test]
    fn previous_keys_open_but_never_seal() {
        let (old, new) = (Key::generate(), Key::generate());
        let binding = b"client\0issuer";
        let before = CookieCodec::new(old.clone(), binding, true, "/".into());
        let rotated = CookieCodec::new(new.clone(), binding, true, "/".into())
            .with_previous_keys(&[Key::generate(), old.clone()], binding);
        let sealed_before = before.seal("s", b"v").expect("sealed");
        assert_eq!(
            rotated.open_telling_key("s", sealed_before.as_bytes()),
            Some((b"v".to_vec(), SealedWith::PreviousKey))
        );
        let sealed_after = rotated.seal("s", b"v").expect("sealed");
        assert_eq!(
            rotated.open_telling_key("s", sealed_after.as_bytes()),
            Some((b"v".to_vec(), SealedWith::CurrentKey))
        );
        assert_eq!(before.open("s", sealed_after.as_bytes()), None);
        // A previous key bound to another client opens nothing.
        let elsewhere = CookieCodec::new(new, binding, true, "/".into())
            .with_previous_keys(&[old], b"other\0issuer");
        assert_eq!(elsewhere.open("s", sealed_before.as_bytes()), None);
    }

    #[test]
    fn incomplete_chunks_are_no_session() {
        let codec = codec();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "s.0=abc; s.2=def".parse().expect("header"));
        assert!(codec.find_chunks(&headers, "s").is_none());
        headers.insert(COOKIE, "s.9=abc; s.x=1; s.00=1".parse().expect("header"));
        assert!(codec.find_chunks(&headers, "s").is_none());
    }

    #[test]
    fn chunks_are_put_in_order_and_the_first_of_a_name_wins() {
        let codec = codec();
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, "s.1=b; other=x; s.0=a".parse().expect("header"));
        headers.append(COOKIE, "s.0=z; s.2=c".parse().expect("header"));
        let chunks = codec.find_chunks(&headers, "s").expect("chunks");
        assert_eq!(chunks.parts(), [&b"a"[..], b"b", b"c"]);
        assert_eq!(chunks.joined(), b"abc");
        assert_eq!(codec.count_chunks(&headers, "s"), 3);
        headers.insert(COOKIE, "s.1=b".parse().expect("header"));
        assert!(codec.find_chunks(&headers, "s").is_none());
        assert_eq!(codec.count_chunks(&headers, "s"), 2);
        headers.insert(COOKIE, "s.7=h; s.0=a".parse().expect("header"));
        assert!(codec.find_chunks(&headers, "s").is_none());
        let all: Vec<String> = (0..MAX_CHUNKS)
            .map(|index| format!("s.{index}={index}"))
            .collect();
        headers.insert(COOKIE, all.join("; ").parse().expect("header"));
        let chunks = codec.find_chunks(&headers, "s").expect("chunks");
        assert_eq!(chunks.joined(), b"01234567");
    }

    #[test]
    fn shrinking_deletes_extra_chunks() {
        let codec = codec();
        let sealed = codec.seal("s", b"small").expect("sealed");
        let set = codec.write_chunks("s", &sealed, 60, 3);
        assert_eq!(set.len(), 3);
        assert!(set[2].to_str().expect("ascii").contains("Max-Age=0"));
    }

    proptest::proptest! {
        #[test]
        fn foreign_values_never_open(value in proptest::collection::vec(0u8.., 0..300)) {
            let codec = codec();
            proptest::prop_assert_eq!(codec.open("s", &value), None);
        }

        #[test]
        fn sealed_values_round_trip(value in proptest::collection::vec(0u8.., 0..500)) {
            let codec = codec();
            let sealed = codec.seal("s", &value).expect("sealed");
            proptest::prop_assert!(sealed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            proptest::prop_assert_eq!(codec.open("s", sealed.as_bytes()), Some(value));
        }
    }
}
