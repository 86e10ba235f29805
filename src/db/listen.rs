//! LISTEN on a channel and wake a worker on every notification and after every
//! (re)connection, so it catches up on what it could not hear.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::Notify;

pub async fn listen(pool: PgPool, channel: &'static str, wake: Arc<Notify>) {
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(channel).await {
                Ok(()) => {
                    wake.notify_one();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(_)) => wake.notify_one(),
                            Ok(None) => {
                                log::warn!("{channel}: LISTEN connection lost, reconnected");
                                wake.notify_one();
                            }
                            Err(error) => {
                                log::warn!("{channel}: LISTEN connection failed: {error}");
                                break;
                            }
                        }
                    }
                }
                Err(error) => log::warn!("{channel}: LISTEN failed: {error}"),
            },
            Err(error) => log::warn!("{channel}: cannot connect to LISTEN: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
