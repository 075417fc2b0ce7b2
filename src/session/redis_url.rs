//! Where a [`RedisStore`](super::redis_store::RedisStore) connects, read from its URL:
//! one server, a Redis Cluster, or a master found through Redis Sentinel.
//!
//! | URL | Deployment |
//! |---|---|
//! | `redis://[[user]:password@]host[:port][/db]`, `rediss://…`, `redis+unix:///path` | one server (the `redis` crate's own forms) |
//! | `redis+cluster://[[user]:password@]host:port[,host:port…]`, `rediss+cluster://…` | a Redis Cluster, from any of its nodes |
//! | `redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/master[/db]`, `rediss+sentinel://…` | the master Sentinel names `master` |
//!
//! Cluster nodes default to port 6379, sentinels to 26379. The credentials authenticate to
//! the data nodes; sentinels that require a password of their own take it as the query
//! parameters `sentinel_password` (and `sentinel_username`). `rediss` means TLS to every
//! node, sentinels included.

use percent_encoding::percent_decode_str;

/// A Redis deployment, as a URL names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// One server: the URL as the `redis` crate reads it.
    Single(String),
    /// A Redis Cluster: one `redis://` or `rediss://` URL per seed node.
    Cluster(Vec<String>),
    /// A master found through Redis Sentinel.
    Sentinel(Sentinel),
}

/// The sentinels to ask, and how to reach the master they name.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Sentinel {
    /// The sentinels' `(host, port)`.
    pub(crate) nodes: Vec<(String, u16)>,
    /// The name the sentinels monitor the master under.
    pub(crate) master: String,
    pub(crate) db: i64,
    pub(crate) tls: bool,
    /// Credentials for the master.
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    /// Credentials for the sentinels.
    pub(crate) sentinel_username: Option<String>,
    pub(crate) sentinel_password: Option<String>,
}

impl std::fmt::Debug for Sentinel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sentinel")
            .field("nodes", &self.nodes)
            .field("master", &self.master)
            .field("db", &self.db)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

const CLUSTER_SCHEMES: &[(&str, &str)] = &[
    ("redis+cluster://", "redis"),
    ("rediss+cluster://", "rediss"),
];
const SENTINEL_SCHEMES: &[(&str, bool)] =
    &[("redis+sentinel://", false), ("rediss+sentinel://", true)];
const DEFAULT_PORT: u16 = 6379;
const DEFAULT_SENTINEL_PORT: u16 = 26379;

/// Reads a store URL. Problems are worded without the URL, which may carry a password.
pub(crate) fn parse(url: &str) -> Result<Target, String> {
    let url = url.trim();
    for (prefix, scheme) in CLUSTER_SCHEMES {
        if let Some(rest) = strip_prefix_ignore_case(url, prefix) {
            return cluster(scheme, rest);
        }
    }
    for (prefix, tls) in SENTINEL_SCHEMES {
        if let Some(rest) = strip_prefix_ignore_case(url, prefix) {
            return sentinel(*tls, rest);
        }
    }
    Ok(Target::Single(url.to_owned()))
}

/// The node URLs of `RedisStore::cluster`, checked as one cluster URL would be.
pub(crate) fn cluster_nodes<I, S>(nodes: I) -> Result<Target, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let nodes: Vec<String> = nodes
        .into_iter()
        .map(|node| node.as_ref().trim().to_owned())
        .collect();
    if nodes.is_empty() {
        return Err("a Redis Cluster needs at least one node".to_owned());
    }
    for node in &nodes {
        let parsed = url::Url::parse(node).map_err(|_| "a cluster node is not a URL".to_owned())?;
        if !matches!(parsed.scheme(), "redis" | "rediss") {
            return Err("cluster nodes must be `redis://` or `rediss://` URLs".to_owned());
        }
    }
    Ok(Target::Cluster(nodes))
}

fn strip_prefix_ignore_case<'a>(url: &'a str, prefix: &str) -> Option<&'a str> {
    let head = url.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &url[prefix.len()..])
}

/// A URL after its scheme: `[userinfo@]hosts[/path][?query]`.
struct Parts<'a> {
    userinfo: Option<&'a str>,
    hosts: Vec<&'a str>,
    path: &'a str,
    query: &'a str,
}

fn split(rest: &str) -> Result<Parts<'_>, String> {
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let before_query = before_query.split('#').next().unwrap_or(before_query);
    // The path starts at the first `/` after the credentials, which may hold `/` themselves.
    let after_at = before_query.rfind('@').map_or(0, |at| at + 1);
    let path_start = before_query[after_at..]
        .find('/')
        .map_or(before_query.len(), |slash| after_at + slash);
    let (authority, path) = before_query.split_at(path_start);
    let (userinfo, hosts) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let hosts: Vec<&str> = hosts
        .split(',')
        .map(str::trim)
        .filter(|host| !host.is_empty())
        .collect();
    if hosts.is_empty() {
        return Err("names no host".to_owned());
    }
    Ok(Parts {
        userinfo,
        hosts,
        path,
        query,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn host_port(host: &str, default_port: u16) -> Result<(String, u16), String> {
    let (name, port) = if let Some(v6) = host.strip_prefix('[') {
        let (name, after) = v6
            .split_once(']')
            .ok_or_else(|| "has an unclosed `[` in a host".to_owned())?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| "has text after an IPv6 host".to_owned())?,
            ),
        };
        (format!("[{name}]"), port)
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (name.to_owned(), Some(port)),
            None => (host.to_owned(), None),
        }
    };
    if name.is_empty() || name == "[]" {
        return Err("has an empty host".to_owned());
    }
    let port = match port {
        None => default_port,
        Some(port) => port
            .parse()
            .map_err(|_| format!("has an invalid port `{port}`"))?,
    };
    Ok((name, port))
}

fn cluster(scheme: &str, rest: &str) -> Result<Target, String> {
    let parts = split(rest)?;
    let credentials = parts
        .userinfo
        .map(|userinfo| format!("{userinfo}@"))
        .unwrap_or_default();
    let query = if parts.query.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.query)
    };
    let nodes = parts
        .hosts
        .iter()
        .map(|host| {
            let (name, port) = host_port(host, DEFAULT_PORT)?;
            Ok(format!(
                "{scheme}://{credentials}{name}:{port}{}{query}",
                parts.path
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    cluster_nodes(nodes)
}

fn sentinel(tls: bool, rest: &str) -> Result<Target, String> {
    let parts = split(rest)?;
    let nodes = parts
        .hosts
        .iter()
        .map(|host| host_port(host, DEFAULT_SENTINEL_PORT))
        .collect::<Result<Vec<_>, String>>()?;
    let mut segments = parts.path.split('/').filter(|segment| !segment.is_empty());
    let master = segments
        .next()
        .map(decode)
        .transpose()?
        .ok_or_else(|| "needs the master's name as its path: `…/mymaster`".to_owned())?;
    let db = match segments.next() {
        None => 0,
        Some(db) => db
            .parse()
            .map_err(|_| format!("has an invalid database number `{db}`"))?,
    };
    if segments.next().is_some() {
        return Err("has a path longer than `/master/db`".to_owned());
    }
    let (username, password) = match parts.userinfo {
        None => (None, None),
        Some(userinfo) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            let user = Some(decode(user)?).filter(|user| !user.is_empty());
            (user, password.map(decode).transpose()?)
        }
    };
    let mut sentinel = Sentinel {
        nodes,
        master,
        db,
        tls,
        username,
        password,
        sentinel_username: None,
        sentinel_password: None,
    };
    for (name, value) in form_urlencoded::parse(parts.query.as_bytes()) {
        match &*name {
            "sentinel_username" => sentinel.sentinel_username = Some(value.into_owned()),
            "sentinel_password" => sentinel.sentinel_password = Some(value.into_owned()),
            other => return Err(format!("has an unknown parameter `{other}`")),
        }
    }
    Ok(Target::Sentinel(sentinel))
}

fn decode(text: &str) -> Result<String, String> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| "has credentials or a name that are not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(url: &str) -> Vec<String> {
        match parse(url) {
            Ok(Target::Cluster(nodes)) => nodes,
            other => panic!("{url}: {other:?}"),
        }
    }

    fn sentinel_of(url: &str) -> Sentinel {
        match parse(url) {
            Ok(Target::Sentinel(sentinel)) => sentinel,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn single_servers_keep_their_url() {
        for url in [
            "redis://127.0.0.1:6379/0",
            "rediss://:pw@cache.example.com:6380",
            "redis+unix:///run/redis.sock",
        ] {
            assert_eq!(parse(url), Ok(Target::Single(url.to_owned())));
        }
    }

    #[test]
    fn cluster_urls_name_every_node() {
        assert_eq!(
            nodes("redis+cluster://10.0.0.1:7000,10.0.0.2:7001, 10.0.0.3"),
            [
                "redis://10.0.0.1:7000",
                "redis://10.0.0.2:7001",
                "redis://10.0.0.3:6379"
            ]
        );
        assert_eq!(
            nodes("rediss+cluster://app:p%40ss@a.example.com:7000,[::1]:7001"),
            [
                "rediss://app:p%40ss@a.example.com:7000",
                "rediss://app:p%40ss@[::1]:7001"
            ]
        );
        assert_eq!(
            nodes("REDIS+CLUSTER://h:1/?protocol=resp3"),
            ["redis://h:1/?protocol=resp3"]
        );
    }

    #[test]
    fn sentinel_urls_name_the_master() {
        let found = sentinel_of("redis+sentinel://s1:26379,s2,[::1]:26380/mymaster/2");
        assert_eq!(
            found.nodes,
            [
                ("s1".to_owned(), 26379),
                ("s2".to_owned(), 26379),
                ("[::1]".to_owned(), 26380)
            ]
        );
        assert_eq!(found.master, "mymaster");
        assert_eq!(found.db, 2);
        assert!(!found.tls);
        assert_eq!(found.username, None);
        assert_eq!(found.password, None);

        let found = sentinel_of(
            "rediss+sentinel://app:p%2Fw@s1/main?sentinel_password=sp&sentinel_username=su",
        );
        assert!(found.tls);
        assert_eq!(found.master, "main");
        assert_eq!(found.db, 0);
        assert_eq!(found.username.as_deref(), Some("app"));
        assert_eq!(found.password.as_deref(), Some("p/w"));
        assert_eq!(found.sentinel_username.as_deref(), Some("su"));
        assert_eq!(found.sentinel_password.as_deref(), Some("sp"));
        assert!(!format!("{found:?}").contains("p/w"));

        let found = sentinel_of("redis+sentinel://:secret@s1/main");
        assert_eq!(found.username, None);
        assert_eq!(found.password.as_deref(), Some("secret"));
    }

    #[test]
    fn malformed_urls_are_refused_without_showing_them() {
        for url in [
            "redis+cluster://",
            "redis+cluster://:hunter2@",
            "redis+cluster://h:notaport",
            "redis+cluster://[::1",
            "redis+sentinel://s1:26379",
            "redis+sentinel://s1/",
            "redis+sentinel://s1/main/x",
            "redis+sentinel://s1/main/0/extra",
            "redis+sentinel://:hunter2@s1/main?bogus=1",
        ] {
            let problem = parse(url).expect_err(url);
            assert!(!problem.contains("hunter2"), "{url}: {problem}");
        }
        assert!(cluster_nodes(Vec::<String>::new()).is_err());
        assert!(cluster_nodes(["http://h:1"]).is_err());
        assert!(cluster_nodes(["h:1"]).is_err());
        assert!(cluster_nodes(["redis://h:1", "rediss://h:2"]).is_ok());
    }
}
