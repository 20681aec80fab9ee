//! Client-side request pacing: client-go's token bucket (flowcontrol), shared by every request of one
//! client (no I/O of its own; waits on tokio's clock).
//!
//! Why not tower's `RateLimit` (kube's client is a tower stack): it admits `n` requests per fixed
//! window and has no burst above the rate. At `--kube-api-qps 10 --kube-api-burst 30`, 60 requests
//! take 3.0 s through a token bucket ((60 - 30) / 10) and 5.0 s through `RateLimit(10 per 1 s)`,
//! and 30 requests after an idle minute spread over 3 windows instead of passing at once.

use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// A token bucket shared by every request of one client (client-go's flowcontrol token bucket).
#[derive(Debug)]
pub struct RateLimiter {
    qps: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    pub fn new(qps: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            qps: qps.max(0.001),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        let wait = {
            let mut state = self.state.lock();
            let (tokens, last) = &mut *state;
            let now = Instant::now();
            *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.qps).min(self.burst);
            *last = now;
            *tokens -= 1.0;
            // A negative balance is this request's place in line.
            (*tokens < 0.0).then(|| Duration::from_secs_f64(-*tokens / self.qps))
        };
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_rate_limiter_lets_a_burst_through_then_paces_at_qps() {
        let limiter = RateLimiter::new(10.0, 2);
        let start = tokio::time::Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst passes at once");
        for _ in 0..3 {
            limiter.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(290) && elapsed <= Duration::from_millis(320),
            "3 more at 10/s take 0.3 s: {elapsed:?}"
        );
    }
}
