//! The live schema in one file: what `pg_dump --schema-only` prints of a database, less what
//! changes from one dump to the next (the versions, the session settings, the random
//! `\restrict` key of recent pg_dump releases), so `docs/schema.sql` can be committed and
//! checked. It holds the current body of every function and trigger, however many
//! migrations redefined it.

use std::path::PathBuf;
use std::process::Stdio;

use percent_encoding::percent_decode_str;
use sqlx::{ConnectOptions, PgPool};

use super::embedded::find_bin_dir;
use crate::configuration::{DatabaseSource, Settings};

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("pg_dump was not found: install the PostgreSQL client programs or set PG_BIN_DIR")]
    NoPgDump,
    #[error("running pg_dump: {0}")]
    Run(#[from] std::io::Error),
    #[error("pg_dump failed: {0}")]
    Failed(String),
}

/// The schema of the database `pool` connects to, normalised.
pub async fn dump(pool: &PgPool, settings: &Settings) -> Result<String, SchemaError> {
    let configured = match &settings.database.source {
        DatabaseSource::Embedded { bin_dir, .. } => bin_dir.clone(),
        DatabaseSource::Url(_) => std::env::var_os("PG_BIN_DIR").map(PathBuf::from),
    };
    let mut command = pg_dump(pool, configured)?;
    command.args(["--schema-only", "--no-owner", "--no-privileges"]);
    command.args(["--exclude-table", "*._sqlx_migrations"]);
    let output = command.output().await?;
    if !output.status.success() {
        return Err(SchemaError::Failed(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    Ok(normalise(&String::from_utf8_lossy(&output.stdout)))
}

/// `pg_dump` (from `bin_dir`, else beside the server binaries on PATH) of the database
/// `pool` connects to; the caller adds what to dump.
pub fn pg_dump(
    pool: &PgPool,
    bin_dir: Option<PathBuf>,
) -> Result<tokio::process::Command, SchemaError> {
    let pg_dump = bin_dir
        .or_else(find_bin_dir)
        .map(|dir| dir.join("pg_dump"))
        .filter(|path| path.is_file())
        .ok_or(SchemaError::NoPgDump)?;
    let options = pool.connect_options();
    let password = options
        .to_url_lossy()
        .password()
        .map(|p| percent_decode_str(p).decode_utf8_lossy().into_owned());
    let mut command = tokio::process::Command::new(pg_dump);
    command
        .arg("--host")
        .arg(options.get_host())
        .arg("--port")
        .arg(options.get_port().to_string())
        .arg("--username")
        .arg(options.get_username())
        .arg("--dbname")
        .arg(options.get_database().unwrap_or(options.get_username()))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    Ok(command)
}

/// Drops the lines that differ between dumps of the same schema and the session settings,
/// the comment frames left empty, and runs of blank lines.
pub fn normalise(dump: &str) -> String {
    let lines: Vec<&str> = dump
        .lines()
        .map(str::trim_end)
        .filter(|line| {
            !(line.starts_with("-- Dumped ")
                || line.starts_with("-- PostgreSQL database dump")
                || line.starts_with("\\restrict")
                || line.starts_with("\\unrestrict")
                || line.starts_with("SET ")
                || line.starts_with("SELECT pg_catalog.set_config("))
        })
        .collect();
    let titled = |i: Option<usize>| {
        i.and_then(|i| lines.get(i))
            .is_some_and(|line| line.starts_with("-- "))
    };
    let mut out = String::from(
        "-- The schema `shopbridge migrate` produces, as `shopbridge schema` prints it\n\
         -- (pg_dump --schema-only, normalised). Generated: do not edit.\n\n",
    );
    let mut blank = true;
    for (i, line) in lines.iter().enumerate() {
        // A frame line stays only around a title.
        if *line == "--" && !titled(i.checked_sub(1)) && !titled(Some(i + 1)) {
            continue;
        }
        if line.is_empty() && blank {
            continue;
        }
        blank = line.is_empty();
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn what_differs_between_dumps_is_left_out() {
        let dump = "--\n-- PostgreSQL database dump\n--\n\n\\restrict Ab12\n\n\
                    -- Dumped from database version 15.18\n-- Dumped by pg_dump version 15.18\n\n\
                    SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n\n\
                    --\n-- Name: t; Type: TABLE; Schema: public; Owner: -\n--\n\n\
                    CREATE TABLE public.t (id bigint);   \n\n\n\\unrestrict Ab12\n\n";
        let normalised = normalise(dump);
        assert!(
            normalised.ends_with(
                "Generated: do not edit.\n\n--\n-- Name: t; Type: TABLE; Schema: public; Owner: -\n--\n\n\
                 CREATE TABLE public.t (id bigint);\n"
            ),
            "{normalised}"
        );
    }
}
