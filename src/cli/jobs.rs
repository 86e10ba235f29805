//! `shopbridge jobs …`: the resumable jobs, as the admin endpoints; and following one job
//! to its end with its progress, for the commands that start one.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::jobs::{self, JobDefinition, JobState, JobStatus, RunOutcome, Runner};

#[derive(Subcommand)]
pub enum JobsCommand {
    /// Jobs, newest first, with their progress per stage.
    List {
        /// Only jobs of this kind, e.g. waymore.export.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Cancel an unfinished job: its runner stops before its next part.
    Cancel { id: i64 },
}

pub async fn run(pool: &PgPool, command: JobsCommand) -> anyhow::Result<Value> {
    Ok(match command {
        JobsCommand::List { kind, limit } => {
            json!({"jobs": jobs::list(pool, kind.as_deref(), i64::from(limit)).await?})
        }
        JobsCommand::Cancel { id } => match jobs::cancel(pool, id).await? {
            true => json!({"canceled": id}),
            false => anyhow::bail!("no unfinished job has id {id}"),
        },
    })
}

/// Runs the waiting job of `D` here (or watches the process that runs it) until it ends,
/// showing its progress; Ctrl-C leaves it to be resumed. `what` names it ("Export").
pub async fn follow<D: JobDefinition>(
    pool: &PgPool,
    runner: Arc<Runner<D>>,
    what: &str,
) -> anyhow::Result<()> {
    let running = tokio::spawn(async move { runner.run_once().await });
    let mut view = ProgressView::new();
    let finished = loop {
        let status = jobs::latest(pool, D::KIND).await?;
        if let Some(status) = &status {
            view.show(status);
            if !unfinished(status) {
                break status.clone();
            }
        }
        if running.is_finished() {
            // Idle or Busy: nothing for this process to run; keep watching the other one.
            if let Ok(Ok(RunOutcome::Idle)) = &running.await {
                bail!("no {} is waiting", what.to_lowercase());
            }
            return watch::<D>(pool, view, what).await;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    view.finish();
    report(what, &finished)
}

fn unfinished(status: &JobStatus) -> bool {
    matches!(status.state, JobState::Pending | JobState::Running)
}

async fn watch<D: JobDefinition>(
    pool: &PgPool,
    mut view: ProgressView,
    what: &str,
) -> anyhow::Result<()> {
    loop {
        let status = jobs::latest(pool, D::KIND)
            .await?
            .with_context(|| format!("the {} disappeared", what.to_lowercase()))?;
        view.show(&status);
        if !unfinished(&status) {
            view.finish();
            return report(what, &status);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn state_name(state: JobState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn report(what: &str, status: &JobStatus) -> anyhow::Result<()> {
    print_job(what, status);
    match status.state {
        JobState::Completed => Ok(()),
        state => bail!(
            "{} #{} {}: {}",
            what.to_lowercase(),
            status.id,
            state_name(state),
            status.last_error.as_deref().unwrap_or("no reason recorded")
        ),
    }
}

/// The job's state and its progress per stage.
pub fn print_job(what: &str, status: &JobStatus) {
    println!(
        "{what} #{}: {}{}",
        status.id,
        state_name(status.state),
        status
            .last_error
            .as_ref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    for stage in &status.stages {
        println!(
            "  {:<12} {:>10} / {:<10}{}",
            stage.stage,
            stage.sent,
            stage.total,
            if stage.done { " done" } else { "" }
        );
    }
}

/// Progress bars on a terminal; a line per change of stage or every few seconds otherwise.
enum ProgressView {
    Bars {
        multi: MultiProgress,
        bars: Vec<ProgressBar>,
    },
    Lines {
        last: Option<(String, i64)>,
        printed_at: std::time::Instant,
    },
}

impl ProgressView {
    fn new() -> Self {
        if std::io::stderr().is_terminal() {
            ProgressView::Bars {
                multi: MultiProgress::new(),
                bars: Vec::new(),
            }
        } else {
            ProgressView::Lines {
                last: None,
                printed_at: std::time::Instant::now(),
            }
        }
    }

    fn show(&mut self, status: &JobStatus) {
        match self {
            ProgressView::Bars { multi, bars } => {
                if bars.is_empty() {
                    let style =
                        ProgressStyle::with_template("{prefix:>12} [{bar:40}] {pos}/{len} {eta}")
                            .expect("valid template")
                            .progress_chars("=> ");
                    for stage in &status.stages {
                        let bar = multi.add(ProgressBar::new(stage.total.max(0) as u64));
                        bar.set_style(style.clone());
                        bar.set_prefix(stage.stage.clone());
                        bars.push(bar);
                    }
                }
                for (bar, stage) in bars.iter().zip(&status.stages) {
                    bar.set_position(stage.sent.max(0) as u64);
                }
            }
            ProgressView::Lines { last, printed_at } => {
                let current = status
                    .stages
                    .iter()
                    .find(|s| !s.done)
                    .or(status.stages.last());
                if let Some(stage) = current {
                    let key = (stage.stage.clone(), stage.sent);
                    let moved_on = last.as_ref().is_none_or(|(name, _)| *name != key.0);
                    let changed = last.as_ref() != Some(&key);
                    if moved_on || (changed && printed_at.elapsed() >= Duration::from_secs(2)) {
                        eprintln!("{}: {}/{}", stage.stage, stage.sent, stage.total);
                        *last = Some(key);
                        *printed_at = std::time::Instant::now();
                    }
                }
            }
        }
    }

    fn finish(&mut self) {
        if let ProgressView::Bars { bars, .. } = self {
            for bar in bars.iter() {
                bar.finish();
            }
        }
    }
}
