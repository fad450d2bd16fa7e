//! `cityloop cases …`: the closed loop from the command line, on the
//! configured store — list, show, act as a named user, and metrics. The
//! same service and the same rules as the API.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use cityloop_cases::CaseService;
use cityloop_store::{CaseQuery, Store};
use cityloop_workflow::Actor;

#[derive(clap::Subcommand)]
pub enum CasesCommand {
    /// Cases, newest first.
    List {
        /// Comma-separated statuses.
        #[arg(long)]
        status: Option<String>,
        /// Only open cases.
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One case with its history.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Act on a case as a user: `cityloop cases act 12 verify --as demo-operator --body '{"note":"…"}'`.
    Act {
        id: i64,
        action: String,
        /// The username acting (their role and scope apply).
        #[arg(long = "as")]
        username: String,
        /// The action's fields as JSON.
        #[arg(long, default_value = "{}")]
        body: String,
    },
    /// Case metrics over a period (see docs/METRICS.md).
    Metrics {
        /// RFC 3339, inclusive.
        #[arg(long)]
        from: String,
        /// RFC 3339, exclusive.
        #[arg(long)]
        to: String,
        /// department, street, district or city.
        #[arg(long, default_value = "department")]
        group_by: String,
    },
}

fn instant(flag: &str, text: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("--{flag}: {text:?} is not an RFC 3339 instant"))
}

pub async fn run(cases: &CaseService, command: CasesCommand) -> anyhow::Result<()> {
    let store: &dyn Store = cases.store();
    match command {
        CasesCommand::List {
            status,
            open,
            limit,
            json,
        } => {
            let query = CaseQuery {
                statuses: status
                    .map(|s| s.split(',').map(|p| p.trim().to_owned()).collect())
                    .unwrap_or_default(),
                open_only: open,
                limit,
                ..CaseQuery::default()
            };
            let total = store.count_cases(&query).await?;
            let rows = store.cases(&query).await?;
            if json {
                let items: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|row| {
                        serde_json::json!({
                            "id": row.id, "status": row.status, "category": row.category,
                            "area_path": row.area_path.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                            "lead_department": row.lead_department.as_ref().map(|d| d.as_str()),
                            "due_at": row.due_at, "created_at": row.created_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::json!({"total": total, "items": items}));
            } else {
                println!("{total} cases");
                for row in rows {
                    println!(
                        "{:>8}  {:<11} {:<6} {:<24} {}  {}",
                        row.id,
                        row.status,
                        row.category,
                        row.lead_department.as_ref().map_or("-", |d| d.as_str()),
                        row.created_at.format("%Y-%m-%d %H:%M"),
                        row.description.chars().take(30).collect::<String>()
                    );
                }
            }
        }
        CasesCommand::Show { id, json } => {
            let (row, state, history) = cases.load(id).await?;
            if json {
                let events: Vec<serde_json::Value> = history
                    .iter()
                    .map(|e| {
                        serde_json::json!({"seq": e.seq, "at": e.at, "kind": e.kind,
                            "actor_role": e.actor_role, "data": serde_json::from_str::<serde_json::Value>(&e.payload).unwrap_or_default()})
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"id": row.id, "status": row.status, "version": row.version,
                        "history": events})
                );
            } else {
                println!(
                    "case {} · {} · {} · {}",
                    row.id,
                    row.status,
                    row.category,
                    row.area_path
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(" › ")
                );
                println!("  {}", row.description);
                for clock in state.sla.clocks.values() {
                    println!(
                        "  clock {:<12} due {}  ({})",
                        clock.stage.as_str(),
                        clock.due_at.to_rfc3339(),
                        clock.light(Utc::now()).as_str()
                    );
                }
                for event in history {
                    println!(
                        "  {:>3} {}  {:<20} {}",
                        event.seq,
                        event
                            .at
                            .with_timezone(&cityloop_calendar::china_offset())
                            .format("%Y-%m-%d %H:%M"),
                        event.kind,
                        event.actor_role.unwrap_or_default()
                    );
                }
            }
        }
        CasesCommand::Act {
            id,
            action,
            username,
            body,
        } => {
            let body: serde_json::Value =
                serde_json::from_str(&body).context("--body is not JSON")?;
            let command = cityloop_cases::codec::parse_command(&action, &body)?;
            let Some((user, _)) = store.user_credentials(&username).await? else {
                bail!("--as: no user {username:?}");
            };
            let row = store
                .case(id)
                .await?
                .with_context(|| format!("case {id} not found"))?;
            if !user.can_see_case(&row.area_path, &row.units, row.reporter) {
                bail!("case {id} is outside {username}'s scope");
            }
            let row = cases
                .act(id, &Actor::from_user(&user), command, Utc::now())
                .await?;
            println!("case {id} is now {} (version {})", row.status, row.version);
        }
        CasesCommand::Metrics { from, to, group_by } => {
            let period =
                cityloop_cases::metrics::Period::new(instant("from", &from)?, instant("to", &to)?)?;
            let group_by = cityloop_cases::metrics::GroupBy::parse(&group_by)?;
            let rows =
                cityloop_cases::metrics::compute(store, group_by, period, Utc::now()).await?;
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
    }
    Ok(())
}
