//! `codex-pipe accounts list|check`: the pool's logins and their state.
//!
//! `list` prints name, email and plan (from the id token's claims), state (available, cooling
//! down, disabled with the reason), the end of a cooldown and the last quota snapshot; with
//! `--redis-url` the state other processes recorded is included. `check` refreshes every login
//! whose access token is expired or about to expire (under the shared lock when Redis is
//! configured), lifts the disable marks of logins that are usable, and reports each one.

use clap::{Args, Subcommand};
use serde::Serialize;

use super::net_args::{AuthArgs, HttpArgs};
use super::pool_args::PoolArgs;
use super::EXIT_AUTH;
use crate::accounts::{AccountPool, AccountView, Lease, QuotaSnapshot};
use crate::auth::jwt;

/// `codex-pipe accounts …`.
#[derive(Debug, Args)]
pub struct AccountsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AccountsCommand,
}

/// The flags of both subcommands.
#[derive(Debug, Args)]
pub struct AccountsOptions {
    /// Which accounts, and the shared store.
    #[command(flatten)]
    pub pool: PoolArgs,
    /// Login options (`--auth-file` is repeatable).
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Connection options.
    #[command(flatten)]
    pub http: HttpArgs,
    /// Print JSON (one array of objects) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The `accounts` subcommands.
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Name, email, plan, state, cooldown end and last quota snapshot of every account.
    List(AccountsOptions),
    /// Refresh logins that need it, re-enable usable ones, and report.
    Check(AccountsOptions),
}

/// One account as printed.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    email: Option<String>,
    plan: Option<String>,
    state: String,
    cooldown_until: Option<String>,
    quota: Option<QuotaSnapshot>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<String>,
}

/// Runs the subcommand; returns the exit code (5 when `check` found an unusable login).
///
/// # Errors
/// Unusable flags, the HTTP client.
pub async fn run(args: AccountsArgs) -> anyhow::Result<u8> {
    let (check, args) = match args.command {
        AccountsCommand::List(o) => (false, o),
        AccountsCommand::Check(o) => (true, o),
    };
    let http = crate::upstream::http_client(&args.http.config())?;
    let pool = args.pool.build(&args.auth, None, &http)?;
    let mut checks = vec![None; pool.len()];
    let mut failed = false;
    if check {
        for (i, slot) in checks.iter_mut().enumerate() {
            let outcome = check_one(&pool, i).await;
            failed |= outcome.is_err();
            *slot = Some(outcome.unwrap_or_else(|e| format!("error: {e}")));
        }
    }
    let views = pool.views().await;
    let mut rows = Vec::with_capacity(views.len());
    for ((i, view), check) in views.into_iter().enumerate().zip(checks) {
        rows.push(row(&pool, i, view, check).await);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_table(&rows);
    }
    Ok(if failed { EXIT_AUTH } else { 0 })
}

/// Refreshes account `index` if its token is expired or close to it; re-enables it when usable.
async fn check_one(pool: &AccountPool, index: usize) -> anyhow::Result<String> {
    let Some(auth) = pool.auth(index) else {
        anyhow::bail!("no such account");
    };
    let creds = auth.cached_credentials().await?;
    let lease = Lease {
        index,
        name: pool.names()[index].clone(),
    };
    let outcome = if auth.wants_proactive_refresh(&creds) {
        pool.refresh(&lease, &creds).await?;
        "ok (refreshed)"
    } else {
        "ok"
    };
    pool.enable(index).await;
    Ok(outcome.to_owned())
}

async fn row(pool: &AccountPool, index: usize, view: AccountView, check: Option<String>) -> Row {
    let claims = match pool.auth(index) {
        Some(auth) => auth.file_tokens().await.ok().flatten().and_then(|t| {
            t.id_token
                .and_then(|id| jwt::decode_claims(&id).ok())
                .or_else(|| jwt::decode_claims(&t.access_token).ok())
        }),
        None => None,
    };
    let state = match (&view.disabled, view.cooldown_until_ms) {
        (Some(reason), _) => format!("disabled: {reason}"),
        (None, Some(_)) => "cooling down".to_owned(),
        (None, None) => "available".to_owned(),
    };
    Row {
        name: view.name,
        email: claims.as_ref().and_then(|c| c.email.clone()),
        plan: claims.and_then(|c| c.plan_type),
        state,
        cooldown_until: view.cooldown_until_ms.map(|ms| {
            crate::auth::file::rfc3339_utc_millis(
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms),
            )
        }),
        quota: view.quota,
        check,
    }
}

fn print_table(rows: &[Row]) {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let table: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                dash(&r.email),
                dash(&r.plan),
                r.state.clone(),
                dash(&r.cooldown_until),
                r.quota.map_or_else(|| "-".to_owned(), |q| q.describe()),
                dash(&r.check),
            ]
        })
        .collect();
    let header = [
        "NAME",
        "EMAIL",
        "PLAN",
        "STATE",
        "COOLDOWN UNTIL",
        "QUOTA",
        "CHECK",
    ];
    let show_check = rows.iter().any(|r| r.check.is_some());
    let columns = if show_check { 7 } else { 6 };
    let mut widths = [0usize; 7];
    for line in std::iter::once(header.map(str::to_owned)).chain(table.iter().cloned()) {
        for (w, cell) in widths.iter_mut().zip(line.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for line in std::iter::once(header.map(str::to_owned)).chain(table) {
        let cells: Vec<String> = line
            .iter()
            .zip(widths)
            .take(columns)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}
