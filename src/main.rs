use std::process::ExitCode;

use clap::Parser;

use shopbridge::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    dotenvy::dotenv().ok();
    // actix logs every malformed request line or header at ERROR: a client could flood the
    // log with them, so the default filter (and .env.example's) turns them off.
    env_logger::Builder::from_env(
        env_logger::Env::default()
            .default_filter_or("info,sqlx::postgres::notice=warn,actix_http::h1::dispatcher=off"),
    )
    .init();
    match cli::run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
