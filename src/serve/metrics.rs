//! The server's counters, written in the Prometheus text format by hand: requests by
//! route and status, how long they took by route, and the release cache's hits and
//! misses. Routes are templates (`/{name}/labels.json`), never a prompt's name, so the
//! number of series stays fixed whatever the store holds.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// The upper bounds of the duration histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    /// How many durations fell at or under each bound (not cumulative; summed when shown).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(&'static str, u16), u64>,
    durations: BTreeMap<&'static str, Histogram>,
}

/// Request counters and durations.
#[derive(Default)]
pub(crate) struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Count one answered request.
    pub(crate) fn record(&self, route: &'static str, status: u16, took: Duration) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        *inner.requests.entry((route, status)).or_default() += 1;
        let h = inner.durations.entry(route).or_default();
        let secs = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            h.buckets[i] += 1;
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Everything, in the Prometheus text format; `hits` and `misses` are the cache's.
    pub(crate) fn render(&self, hits: u64, misses: u64) -> String {
        let mut out = String::new();
        let Ok(inner) = self.inner.lock() else {
            return out;
        };
        out.push_str(
            "# HELP pulse_http_requests_total HTTP requests answered, by route and status.\n\
             # TYPE pulse_http_requests_total counter\n",
        );
        for ((route, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "pulse_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP pulse_http_request_duration_seconds Time to answer a request, by route.\n\
             # TYPE pulse_http_request_duration_seconds histogram\n",
        );
        for (route, h) in &inner.durations {
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "pulse_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "pulse_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n\
                 pulse_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
                 pulse_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count, h.sum, h.count
            );
        }
        let _ = write!(
            out,
            "# HELP pulse_cache_hits_total Release files answered from memory.\n\
             # TYPE pulse_cache_hits_total counter\n\
             pulse_cache_hits_total {hits}\n\
             # HELP pulse_cache_misses_total Release files read from the store.\n\
             # TYPE pulse_cache_misses_total counter\n\
             pulse_cache_misses_total {misses}\n"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.record("/healthz", 200, Duration::from_micros(500));
        m.record("/healthz", 200, Duration::from_millis(30));
        m.record("/{name}/labels.json", 412, Duration::from_secs(60));
        let text = m.render(2, 1);
        assert!(text.contains("pulse_http_requests_total{route=\"/healthz\",status=\"200\"} 2\n"));
        assert!(text.contains(
            "pulse_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.001\"} 1\n"
        ));
        assert!(text.contains(
            "pulse_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.05\"} 2\n"
        ));
        assert!(text.contains(
            "pulse_http_request_duration_seconds_bucket{route=\"/{name}/labels.json\",le=\"10\"} 0\n"
        ));
        assert!(text.contains(
            "pulse_http_request_duration_seconds_bucket{route=\"/{name}/labels.json\",le=\"+Inf\"} 1\n"
        ));
        assert!(text.contains("pulse_http_request_duration_seconds_count{route=\"/healthz\"} 2\n"));
        assert!(text.contains("pulse_cache_hits_total 2\n"));
        assert!(text.contains("pulse_cache_misses_total 1\n"));
    }
}
