//! The demo's air-quality sensors: four PM2.5 datastreams in the demo
//! districts replaying the real Beijing PM2.5 series (UCI, CC BY 4.0) —
//! the winter of 2013, whose pollution episodes raise real alarms and cases
//! — through MQTT when a broker answers, else straight into the perception
//! service. The replay maps the series' hours onto the week before now and
//! plays them at one hour per half second; caught up, it goes on in real
//! time, one value per sensor each hour, so the sensors stay online.

use crate::bench_sense::beijing_pm25;
use chrono::{Duration, DurationRound, Utc};
use cityloop_api::AppState;
use cityloop_geo::LonLat;
use std::time::Duration as StdDuration;

/// (name, device, lon, lat, offset into the series in hours)
const SENSORS: [(&str, &str, f64, f64, usize); 4] = [
    (
        "PM2.5 长寿路（演示）",
        "aq-310107-changshou",
        121.4350,
        31.2470,
        0,
    ),
    (
        "PM2.5 甘泉路（演示）",
        "aq-310107-ganquan",
        121.4390,
        31.2700,
        5,
    ),
    (
        "PM2.5 南京东路（演示）",
        "aq-310101-nanjingdong",
        121.4800,
        31.2380,
        11,
    ),
    (
        "PM2.5 外滩（演示）",
        "aq-310101-bund",
        121.4900,
        31.2400,
        17,
    ),
];

/// 2013-01-05 00h, the start of January 2013's long pollution episode, as
/// an index into the series (hours since 2010-01-01 00h).
const SERIES_START: usize = (365 * 3 + 4) * 24;
/// Hours replayed before real time: one week.
const REPLAY_HOURS: i64 = 7 * 24;
/// One replayed hour per this long.
const REPLAY_STEP: StdDuration = StdDuration::from_millis(500);

/// Registers the demo sensors (once) and replays the series.
pub async fn start(
    state: AppState,
    mqtt: Option<(String, u16, String)>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let Some(perception) = state.perception_arc() else {
        anyhow::bail!("the demo needs the perception service");
    };
    let mut streams = state.store().datastreams().await?;
    if streams.is_empty() {
        for (name, thing, lon, lat, _) in SENSORS {
            let record = perception
                .register(
                    name,
                    thing,
                    "pm25",
                    "µg/m³",
                    60,
                    LonLat::new(lon, lat)?,
                    &state.index(),
                    Utc::now(),
                )
                .await?;
            streams.push(record);
        }
    }
    let series = beijing_pm25()?;
    let ids: Vec<(i64, usize)> = streams
        .iter()
        .zip(SENSORS)
        .map(|(record, (.., offset))| (record.id, offset))
        .collect();
    let first_hour = (Utc::now() - Duration::hours(REPLAY_HOURS))
        .duration_trunc(Duration::hours(1))
        .map_err(|e| anyhow::anyhow!("truncating to the hour: {e}"))?;
    let publisher = match &mqtt {
        Some((host, port, prefix)) => {
            let options = rumqttc::MqttOptions::new(
                format!("cityloop-demo-replay-{}", std::process::id()),
                host,
                *port,
            );
            let (client, mut events) = rumqttc::AsyncClient::new(options, 64);
            let mut stop = stop.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        event = events.poll() => if event.is_err() {
                            tokio::time::sleep(StdDuration::from_secs(1)).await;
                        },
                        _ = stop.changed() => return,
                    }
                }
            });
            Some((
                client,
                format!("{prefix}{}", cityloop_perception::mqtt::BULK_TOPIC),
            ))
        }
        None => None,
    };
    let mut stop = stop;
    Ok(tokio::spawn(async move {
        for hour in 0.. {
            let at = first_hour + Duration::hours(hour);
            // Caught up: wait for the hour to come (real time).
            if let Ok(wait) = (at - Utc::now()).to_std() {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => return,
                }
            }
            let readings: Vec<(i64, chrono::DateTime<Utc>, f64)> = ids
                .iter()
                .filter_map(|(id, offset)| {
                    series[(SERIES_START + offset + hour as usize) % series.len()]
                        .map(|value| (*id, at, value))
                })
                .collect();
            let sent = match &publisher {
                Some((client, topic)) => {
                    let lines: String = readings
                        .iter()
                        .map(|(id, at, value)| format!("{id},{},{value}\n", at.to_rfc3339()))
                        .collect();
                    client
                        .publish(topic, rumqttc::QoS::AtLeastOnce, false, lines)
                        .await
                        .map_err(|e| e.to_string())
                }
                None => perception
                    .ingest(readings, Utc::now())
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            };
            if let Err(error) = sent {
                tracing::warn!(%error, "demo sensor replay step failed");
            }
            if hour == REPLAY_HOURS {
                tracing::info!("demo sensor replay caught up with now; going on in real time");
            }
            tokio::select! {
                _ = tokio::time::sleep(REPLAY_STEP) => {}
                _ = stop.changed() => return,
            }
        }
    }))
}
