//! The MQTT source: observations from a broker (Mosquitto in the demo and
//! CI), in two formats, into [`Perception::ingest`] in batches.
//!
//! - **SensorThings MQTT extension**: a client publishes an Observation to
//!   `v1.1/Datastreams(<id>)/Observations` as JSON, `{"phenomenonTime":
//!   "2026-11-30T08:00:00+08:00", "result": 80.5}` (an interval
//!   `start/end` counts as its end; no phenomenonTime means now). Every
//!   stored observation is published back on the same topic with its
//!   `@iot.id`, so subscribers get new ones; messages carrying an
//!   `@iot.id` are the server's own and are not ingested again.
//! - **Compact bulk format for gateways**: topic `cityloop/v1/observations`,
//!   UTF-8 text, one observation per line, `<datastream>,<RFC 3339
//!   phenomenon time>,<result>`; blank lines and lines starting with `#`
//!   are ignored.
//!
//! Delivery is at least once (QoS 1, acknowledged only after the batch is
//! stored); redelivered observations are skipped by the store. A malformed
//! message is counted (`cityloop_mqtt_messages_rejected_total`) and logged
//! with its topic — it never stops the stream. The connection is retried
//! with exponential backoff (0.5 s to 30 s).

use crate::Perception;
use chrono::{DateTime, Utc};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use std::sync::Arc;
use std::time::Duration;

/// The bulk topic.
pub const BULK_TOPIC: &str = "cityloop/v1/observations";
/// The SensorThings topic filter (a `+` cannot stand inside a level).
pub const STA_FILTER: &str = "v1.1/#";
/// The most messages handled in one batch.
pub const BATCH_MESSAGES_MAX: usize = 500;
/// How long a message may wait for its batch.
pub const BATCH_WAIT: Duration = Duration::from_millis(200);
/// The longest wait between reconnection attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Where the broker is.
#[derive(Debug, Clone)]
pub struct MqttSettings {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    /// Put before every topic (e.g. `city-a/`), so several cities or test
    /// runs can share a broker; empty by default.
    pub prefix: String,
}

/// One observation read from a message.
pub type Reading = (i64, DateTime<Utc>, f64);

/// Reads one message (its topic without the prefix); `Ok(None)` for the
/// server's own echoes (they carry `@iot.id`) and topics that are not ours.
pub fn parse_message(
    topic: &str,
    payload: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<Vec<Reading>>, String> {
    if topic == BULK_TOPIC {
        return parse_bulk(payload).map(Some);
    }
    let Some(id) = topic
        .strip_prefix("v1.1/Datastreams(")
        .and_then(|rest| rest.strip_suffix(")/Observations"))
    else {
        return Ok(None);
    };
    let id: i64 = id
        .parse()
        .map_err(|_| format!("{topic}: the datastream id {id:?} is not a number"))?;
    let value: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))?;
    let object = value.as_object().ok_or("an Observation is a JSON object")?;
    if object.contains_key("@iot.id") {
        return Ok(None);
    }
    let result = object
        .get("result")
        .and_then(serde_json::Value::as_f64)
        .ok_or("result: a number is required")?;
    let at = match object.get("phenomenonTime") {
        None | Some(serde_json::Value::Null) => now,
        Some(serde_json::Value::String(text)) => {
            let end = text.rsplit('/').next().unwrap_or(text);
            DateTime::parse_from_rfc3339(end)
                .map_err(|e| format!("phenomenonTime {text:?}: {e}"))?
                .with_timezone(&Utc)
        }
        Some(_) => return Err("phenomenonTime: an ISO 8601 string is required".into()),
    };
    Ok(Some(vec![(id, at, result)]))
}

/// The compact bulk format (see the module docs).
pub fn parse_bulk(payload: &[u8]) -> Result<Vec<Reading>, String> {
    let text = std::str::from_utf8(payload).map_err(|_| "not UTF-8 text".to_owned())?;
    let mut readings = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}: {line:?}", number + 1);
        let mut fields = line.split(',');
        let (Some(id), Some(at), Some(value), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("expected datastream,phenomenon_time,result"));
        };
        let id: i64 = id.trim().parse().map_err(|_| bad("datastream"))?;
        let at = DateTime::parse_from_rfc3339(at.trim())
            .map_err(|_| bad("phenomenon_time"))?
            .with_timezone(&Utc);
        let value: f64 = value
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| bad("result"))?;
        readings.push((id, at, value));
    }
    Ok(readings)
}

/// The SensorThings topic of a datastream's observations.
pub fn observations_topic(datastream: i64) -> String {
    format!("v1.1/Datastreams({datastream})/Observations")
}

/// Reads the broker until `shutdown` turns true, reconnecting with backoff.
pub async fn run(
    perception: Arc<Perception>,
    settings: MqttSettings,
    now: impl Fn() -> DateTime<Utc> + Send + 'static,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut options = MqttOptions::new(&settings.client_id, &settings.host, settings.port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_manual_acks(true);
    options.set_clean_session(false);
    options.set_max_packet_size(4 * 1024 * 1024, 4 * 1024 * 1024);
    let (client, mut events) = AsyncClient::new(options, 1024);
    let mut backoff = Duration::from_millis(500);
    let mut pending: Vec<Publish> = Vec::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let wait = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = wait => {
                flush(&perception, &client, &mut pending, &now, &settings.prefix).await;
                deadline = None;
            }
            event = events.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = Duration::from_millis(500);
                    tracing::info!(host = %settings.host, port = settings.port, "MQTT connected");
                    for topic in [BULK_TOPIC, STA_FILTER] {
                        let topic = format!("{}{topic}", settings.prefix);
                        if let Err(error) = client.subscribe(&topic, QoS::AtLeastOnce).await {
                            tracing::error!(%error, %topic, "MQTT subscribe failed");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    pending.push(publish);
                    deadline.get_or_insert_with(|| tokio::time::Instant::now() + BATCH_WAIT);
                    if pending.len() >= BATCH_MESSAGES_MAX {
                        flush(&perception, &client, &mut pending, &now, &settings.prefix).await;
                        deadline = None;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "MQTT connection lost");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => return,
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            },
        }
    }
}

/// Ingests the pending messages as one batch, acknowledges them once
/// stored, and publishes the stored observations for subscribers.
async fn flush(
    perception: &Perception,
    client: &AsyncClient,
    pending: &mut Vec<Publish>,
    now: &impl Fn() -> DateTime<Utc>,
    prefix: &str,
) {
    if pending.is_empty() {
        return;
    }
    let messages = std::mem::take(pending);
    let at = now();
    let mut batch = Vec::new();
    for message in &messages {
        let topic = message.topic.strip_prefix(prefix).unwrap_or(&message.topic);
        match parse_message(topic, &message.payload, at) {
            Ok(Some(readings)) => batch.extend(readings),
            Ok(None) => {}
            Err(reason) => {
                metrics::counter!("cityloop_mqtt_messages_rejected_total").increment(1);
                tracing::warn!(topic = %message.topic, %reason, "MQTT message rejected");
            }
        }
    }
    metrics::counter!("cityloop_mqtt_messages_total").increment(messages.len() as u64);
    let mut fresh = Vec::new();
    if !batch.is_empty() {
        // A batch naming an unknown datastream is refused whole: retry the
        // readings one by one so the good ones are kept.
        match perception.ingest(batch.clone(), at).await {
            Ok(report) => fresh = report.fresh,
            Err(crate::PerceptionError::Invalid { .. }) => {
                for reading in &batch {
                    match perception.ingest(vec![*reading], at).await {
                        Ok(report) => fresh.extend(report.fresh),
                        Err(error) => {
                            metrics::counter!("cityloop_mqtt_messages_rejected_total").increment(1);
                            tracing::warn!(datastream = reading.0, %error, "MQTT observation rejected");
                        }
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, "storing MQTT observations failed; they will be redelivered");
                return;
            }
        }
    }
    for message in &messages {
        if let Err(error) = client.ack(message).await {
            tracing::warn!(%error, "MQTT acknowledgement failed");
        }
    }
    for crate::Fresh {
        id,
        datastream,
        at,
        result,
    } in fresh
    {
        let payload = serde_json::json!({
            "@iot.id": id,
            "phenomenonTime": at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "result": result,
        });
        if let Err(error) = client.try_publish(
            format!("{prefix}{}", observations_topic(datastream)),
            QoS::AtMostOnce,
            false,
            payload.to_string(),
        ) {
            tracing::debug!(%error, "publishing an observation for subscribers skipped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn sensorthings_messages_and_their_echoes() {
        let read = parse_message(
            "v1.1/Datastreams(12)/Observations",
            br#"{"phenomenonTime": "2026-11-30T08:00:00+08:00", "result": 80.5}"#,
            now(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(read, vec![(12, now(), 80.5)]);
        let interval = parse_message(
            "v1.1/Datastreams(12)/Observations",
            br#"{"phenomenonTime": "2026-11-30T07:00:00+08:00/2026-11-30T08:00:00+08:00", "result": 1}"#,
            now(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(interval[0].1, now(), "an interval counts as its end");
        let untimed = parse_message(
            "v1.1/Datastreams(3)/Observations",
            br#"{"result": 2}"#,
            now(),
        );
        assert_eq!(untimed.unwrap().unwrap()[0].1, now());
        let echo =
            br#"{"@iot.id": "12-1", "phenomenonTime": "2026-11-30T08:00:00+08:00", "result": 1}"#;
        assert_eq!(
            parse_message("v1.1/Datastreams(12)/Observations", echo, now()),
            Ok(None)
        );
        assert_eq!(
            parse_message("v1.1/Things(1)/Locations", b"{}", now()),
            Ok(None)
        );
        for (topic, payload) in [
            ("v1.1/Datastreams(x)/Observations", &br#"{"result": 1}"#[..]),
            ("v1.1/Datastreams(1)/Observations", b"not json"),
            ("v1.1/Datastreams(1)/Observations", br#"{"result": "high"}"#),
            (
                "v1.1/Datastreams(1)/Observations",
                br#"{"result": 1, "phenomenonTime": "noon"}"#,
            ),
        ] {
            assert!(
                parse_message(topic, payload, now()).is_err(),
                "{topic} {payload:?}"
            );
        }
    }

    #[test]
    fn the_bulk_format_names_the_bad_line() {
        let readings = parse_bulk(
            b"# gateway 7\n12,2026-11-30T08:00:00+08:00,80.5\n\n13,2026-11-30T00:00:00Z,7\n",
        )
        .unwrap();
        assert_eq!(readings, vec![(12, now(), 80.5), (13, now(), 7.0)]);
        let error = parse_bulk(b"12,2026-11-30T08:00:00+08:00,80\n12,yesterday,3\n").unwrap_err();
        assert!(error.starts_with("line 2: phenomenon_time"), "{error}");
        assert!(
            parse_bulk(b"1,2026-11-30T00:00:00Z,NaN")
                .unwrap_err()
                .contains("result")
        );
        assert!(parse_bulk(b"1,2026-11-30T00:00:00Z").is_err());
        assert!(parse_bulk(&[0xff, 0xfe]).is_err());
    }
}
