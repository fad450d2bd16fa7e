//! Configuration in two steps (raw → validated) and three layers: defaults,
//! then a TOML file (`--config`), then `CITYLOOP_*` environment variables and
//! command-line flags (clap reads both; a flag beats its variable).

use anyhow::{Context, bail};
use cityloop_api::ApiLimits;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The file layer, as written. Unknown keys are an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub log_format: Option<String>,
    /// Daily working periods for SLA clocks, e.g. "08:30-12:00,13:30-17:30".
    pub shifts: Option<String>,
    /// The transparency log's origin (its checkpoints' first line and key
    /// name), e.g. "cityloop.shanghai.example/log". Never changes for a city.
    pub transparency_origin: Option<String>,
    /// The MQTT broker observations come from, `mqtt://host:port`; unset:
    /// no MQTT (the demo uses mqtt://127.0.0.1:1883 when it answers).
    pub mqtt_url: Option<String>,
    /// Put before every MQTT topic (several cities on one broker).
    pub mqtt_prefix: Option<String>,
    /// Observations older than this many days are deleted (unset: kept).
    pub observation_retention_days: Option<u32>,
    /// The web app's build to serve at /app/ (default: web/dist of the
    /// source tree the binary was built from).
    pub web_dir: Option<PathBuf>,
    /// A raster basemap for the dashboard, `https://…/{z}/{x}/{y}.png`
    /// (unset: the dashboard draws the city's own boundaries only).
    pub basemap_tiles: Option<String>,
    pub basemap_attribution: Option<String>,
    #[serde(default)]
    pub limits: RawLimits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub body_bytes_max: Option<usize>,
    pub rate_per_second: Option<u64>,
    pub rate_burst: Option<u32>,
    pub request_timeout_ms: Option<u64>,
    pub public_writes_per_minute: Option<u32>,
    pub public_writes_burst: Option<u32>,
}

/// Values given on the command line or in the environment.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "CITYLOOP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the embedded database and keys live.
    #[arg(long, global = true, env = "CITYLOOP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://… to use PostgreSQL instead of the embedded store.
    #[arg(long, global = true, env = "CITYLOOP_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, global = true, env = "CITYLOOP_LISTEN")]
    pub listen: Option<String>,
    /// Log format: text or json.
    #[arg(long, global = true, env = "CITYLOOP_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Daily working periods for SLA clocks, e.g. "08:30-12:00,13:30-17:30".
    #[arg(long = "working-shifts", global = true, env = "CITYLOOP_SHIFTS")]
    pub shifts: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// False when `data_dir` is the default (the demo then uses a fresh
    /// temporary directory instead).
    pub data_dir_given: bool,
    pub database_url: Option<String>,
    pub listen: SocketAddr,
    pub log_format: LogFormat,
    pub shifts: cityloop_calendar::Shifts,
    pub transparency_origin: String,
    /// The MQTT broker (host, port), if any.
    pub mqtt: Option<(String, u16)>,
    pub mqtt_prefix: String,
    /// Days observations are kept (`None`: forever).
    pub observation_retention_days: Option<u32>,
    pub web_dir: Option<PathBuf>,
    pub basemap_tiles: Option<String>,
    pub basemap_attribution: Option<String>,
    pub limits: ApiLimits,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "cityloop-data";

impl Settings {
    pub fn load(overrides: &Overrides) -> anyhow::Result<Settings> {
        let raw = match &overrides.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str::<RawConfig>(&text)
                    .with_context(|| format!("config file {}", path.display()))?
            }
            None => RawConfig::default(),
        };
        Settings::resolve(raw, overrides)
    }

    fn resolve(raw: RawConfig, overrides: &Overrides) -> anyhow::Result<Settings> {
        let listen_text = overrides
            .listen
            .clone()
            .or(raw.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_text.parse().with_context(|| {
            format!("listen: {listen_text:?} is not an address like 127.0.0.1:8080")
        })?;
        let log_format = match overrides
            .log_format
            .clone()
            .or(raw.log_format)
            .as_deref()
            .unwrap_or("text")
        {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => bail!("log_format: {other:?} is not text or json"),
        };
        let database_url = overrides
            .database_url
            .clone()
            .or(raw.database_url)
            .filter(|url| !url.trim().is_empty());
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            bail!(
                "database_url: only postgres:// URLs are supported; leave it unset for the embedded store"
            );
        }
        let shifts = match overrides.shifts.clone().or(raw.shifts) {
            Some(text) => cityloop_calendar::Shifts::parse(&text)
                .map_err(|error| anyhow::anyhow!("shifts: {error}"))?,
            None => cityloop_calendar::Shifts::default(),
        };
        let defaults = ApiLimits::default();
        let limits = ApiLimits {
            body_bytes_max: raw.limits.body_bytes_max.unwrap_or(defaults.body_bytes_max),
            rate_per_second: raw
                .limits
                .rate_per_second
                .unwrap_or(defaults.rate_per_second),
            rate_burst: raw.limits.rate_burst.unwrap_or(defaults.rate_burst),
            request_timeout_ms: raw
                .limits
                .request_timeout_ms
                .unwrap_or(defaults.request_timeout_ms),
            public_writes_per_minute: raw
                .limits
                .public_writes_per_minute
                .unwrap_or(defaults.public_writes_per_minute),
            public_writes_burst: raw
                .limits
                .public_writes_burst
                .unwrap_or(defaults.public_writes_burst),
        };
        if limits.body_bytes_max < 1024
            || limits.rate_per_second == 0
            || limits.rate_burst == 0
            || limits.public_writes_per_minute == 0
            || limits.public_writes_burst == 0
        {
            bail!(
                "limits: body_bytes_max ≥ 1024, rate_per_second, rate_burst, public_writes_per_minute and public_writes_burst ≥ 1"
            );
        }
        let transparency_origin = raw
            .transparency_origin
            .unwrap_or_else(|| cityloop_transparency::keys::DEFAULT_ORIGIN.to_owned());
        if transparency_origin.trim().is_empty()
            || transparency_origin.contains(char::is_whitespace)
            || transparency_origin.contains('+')
        {
            bail!(
                "transparency_origin: {transparency_origin:?} must be non-empty, without spaces or '+'"
            );
        }
        let mqtt = match raw
            .mqtt_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            None => None,
            Some(url) => Some(parse_mqtt_url(url)?),
        };
        let mqtt_prefix = raw.mqtt_prefix.unwrap_or_default();
        if mqtt_prefix.contains(['+', '#']) {
            bail!("mqtt_prefix: {mqtt_prefix:?} must not contain MQTT wildcards");
        }
        let data_dir = overrides.data_dir.clone().or(raw.data_dir);
        if let Some(tiles) = &raw.basemap_tiles
            && !(tiles.starts_with("https://") || tiles.starts_with("http://"))
        {
            bail!(
                "basemap_tiles: {tiles:?} must be an http(s) URL template with {{z}}/{{x}}/{{y}}"
            );
        }
        Ok(Settings {
            data_dir_given: data_dir.is_some(),
            data_dir: data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            database_url,
            listen,
            log_format,
            shifts,
            transparency_origin,
            mqtt,
            mqtt_prefix,
            observation_retention_days: match raw.observation_retention_days {
                Some(0) => {
                    bail!("observation_retention_days: at least 1 (leave it unset to keep all)")
                }
                days => days,
            },
            web_dir: raw.web_dir,
            basemap_tiles: raw.basemap_tiles,
            basemap_attribution: raw.basemap_attribution,
            limits,
        })
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("cityloop.sqlite3")
    }

    /// The effective configuration as TOML, with any password redacted.
    pub fn show(&self) -> String {
        let database = match &self.database_url {
            Some(url) => format!("database_url = {:?}\n", redact_url(url)),
            None => format!(
                "# database: embedded SQLite at {}\n",
                self.sqlite_path().display()
            ),
        };
        let mqtt = match &self.mqtt {
            Some((host, port)) => format!(
                "mqtt_url = \"mqtt://{host}:{port}\"\nmqtt_prefix = \"{}\"\n",
                self.mqtt_prefix
            ),
            None => "# mqtt: none\n".to_owned(),
        };
        let retention = match self.observation_retention_days {
            Some(days) => format!("observation_retention_days = {days}\n"),
            None => "# observations kept forever\n".to_owned(),
        };
        let web = match &self.web_dir {
            Some(dir) => format!("web_dir = {:?}\n", display_path(dir)),
            None => "# web app: web/dist of the source tree\n".to_owned(),
        };
        let basemap = match &self.basemap_tiles {
            Some(tiles) => format!("basemap_tiles = {tiles:?}\n"),
            None => "# basemap: none (the city's own boundaries only)\n".to_owned(),
        };
        let mqtt = format!("{mqtt}{retention}{web}{basemap}");
        format!(
            "data_dir = {:?}\n{database}listen = \"{}\"\nlog_format = \"{}\"\nshifts = \"{}\"\ntransparency_origin = \"{}\"\n{mqtt}\n[limits]\nbody_bytes_max = {}\nrate_per_second = {}\nrate_burst = {}\nrequest_timeout_ms = {}\npublic_writes_per_minute = {}\npublic_writes_burst = {}\n",
            display_path(&self.data_dir),
            self.listen,
            match self.log_format {
                LogFormat::Text => "text",
                LogFormat::Json => "json",
            },
            self.shifts,
            self.transparency_origin,
            self.limits.body_bytes_max,
            self.limits.rate_per_second,
            self.limits.rate_burst,
            self.limits.request_timeout_ms,
            self.limits.public_writes_per_minute,
            self.limits.public_writes_burst,
        )
    }
}

fn display_path(path: &Path) -> String {
    path.display().to_string()
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// `mqtt://host:port` (port 1883 when absent).
pub fn parse_mqtt_url(url: &str) -> anyhow::Result<(String, u16)> {
    let Some(rest) = url.strip_prefix("mqtt://") else {
        bail!("mqtt_url: {url:?} must start with mqtt:// (TLS is not supported yet)");
    };
    let (host, port) = match rest.trim_end_matches('/').rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse()
                .with_context(|| format!("mqtt_url: port {port:?} is not a number"))?,
        ),
        None => (rest.trim_end_matches('/'), 1883),
    };
    if host.is_empty() {
        bail!("mqtt_url: {url:?} names no host");
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let raw: RawConfig = toml::from_str(
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/city\"\n[limits]\nrate_burst = 5\n",
        )
        .unwrap();
        let overrides = Overrides {
            listen: Some("127.0.0.1:7000".into()),
            ..Overrides::default()
        };
        let settings = Settings::resolve(raw, &overrides).unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(settings.data_dir, PathBuf::from("/srv/city"));
        assert_eq!(settings.limits.rate_burst, 5);
        assert_eq!(
            settings.limits.rate_per_second,
            ApiLimits::default().rate_per_second
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let error = toml::from_str::<RawConfig>("listn = \"x\"").unwrap_err();
        assert!(error.to_string().contains("listn"), "{error}");
        let overrides = Overrides {
            database_url: Some("mysql://x".into()),
            ..Overrides::default()
        };
        let error = Settings::resolve(RawConfig::default(), &overrides).unwrap_err();
        assert!(error.to_string().starts_with("database_url"), "{error}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/city"),
            "postgres://app:***@db:5432/city"
        );
        assert_eq!(redact_url("postgres://db/city"), "postgres://db/city");
    }

    #[test]
    fn mqtt_urls_name_host_and_port() {
        assert_eq!(
            super::parse_mqtt_url("mqtt://127.0.0.1:1883").unwrap(),
            ("127.0.0.1".to_owned(), 1883)
        );
        assert_eq!(
            super::parse_mqtt_url("mqtt://broker.example/").unwrap(),
            ("broker.example".to_owned(), 1883)
        );
        assert!(super::parse_mqtt_url("mqtts://broker:8883").is_err());
        assert!(super::parse_mqtt_url("mqtt://broker:port").is_err());
        assert!(super::parse_mqtt_url("mqtt://:1883").is_err());
    }
}
