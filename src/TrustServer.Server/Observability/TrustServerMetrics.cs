using Prometheus;

namespace TrustServer.Server.Observability;

/// <summary>
/// The server's Prometheus metrics (served at <c>/metrics</c>), a singleton that callers get from DI. Labels never
/// carry GUNs or other unbounded values: routes are Notary operation names (spec server-api.md §1) or endpoint
/// templates.
/// </summary>
/// <remarks>
/// The collectors live in prometheus-net's process-wide default registry, which hands out the registered collector
/// when one is created again: every instance (e.g. of several hosts in one test process) counts into the same ones.
/// </remarks>
internal sealed class TrustServerMetrics
{
    // No exemplars: they would copy the trace context into every observation on the request path, and nothing reads
    // them.
    private static readonly IMetricFactory Factory = CreateFactory();

    public Counter Requests { get; } = Factory.CreateCounter(
        "trustserver_http_requests_total", "HTTP requests by route and status.", ["route", "method", "code"]);

    public Histogram RequestDuration { get; } = Factory.CreateHistogram(
        "trustserver_http_request_duration_seconds", "HTTP request duration by route.",
        new HistogramConfiguration { LabelNames = ["route"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });

    public Counter Publishes { get; } = Factory.CreateCounter(
        "trustserver_publishes_total", "Metadata updates by outcome: accepted, or the Notary error (e.g. ErrBadRoot, VERSION, UPDATING).", ["outcome"]);

    public Histogram PublishPhases { get; } = Factory.CreateHistogram(
        "trustserver_publish_phase_seconds", "Where an update's time goes: load (stored state), validate (incl. server signatures), sign (signer calls), commit.",
        new HistogramConfiguration { LabelNames = ["phase"], Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16) });

    public Counter PublishStateRereads { get; } = Factory.CreateCounter(
        "trustserver_publish_state_rereads_total",
        "Updates validated against the state this replica committed last that had to be validated again against the database: the commit found another write first (stale) or the validation rejected them (rejected).",
        new CounterConfiguration { LabelNames = ["reason"] });

    public Counter SignerCalls { get; } = Factory.CreateCounter(
        "trustserver_signer_calls_total", "Calls to the signing service by operation and result (ok, failed).", ["operation", "result"]);

    public Counter Resigns { get; } = Factory.CreateCounter(
        "trustserver_resigns_total", "Server-signed files re-signed (on read or by the background re-signer), by role.", ["role"]);

    public Counter ResignerRepositories { get; } = Factory.CreateCounter(
        "trustserver_resigner_repositories_total",
        "Repositories the background re-signer handled when due, by outcome: renewed, failed (signer or database failed, or the chain cannot be renewed), skipped (the root lists no timestamp key the server holds).",
        ["outcome"]);

    public Gauge ResignerEarliestExpiry { get; } = Factory.CreateGauge(
        "trustserver_resigner_earliest_expiry_seconds",
        "Unix time of the earliest expiry of a server-managed file (timestamp, server-held snapshot) among the repositories the re-signer schedules; NaN on replicas not doing the work.", []);

    public Gauge ResignerAtRisk { get; } = Factory.CreateGauge(
        "trustserver_resigner_repositories_at_risk", "Repositories due for re-signing that could not be renewed (signer or database unreachable).", []);

    public Gauge ResignerScheduled { get; } = Factory.CreateGauge(
        "trustserver_resigner_repositories_scheduled", "Repositories the background re-signer keeps a renewal time for; 0 on replicas not doing the work.", []);

    public Counter RetentionFilesRemoved { get; } = Factory.CreateCounter(
        "trustserver_retention_files_removed_total", "Old metadata versions (tuf_files rows) removed by retention.", []);

    public Counter RetentionBytesRemoved { get; } = Factory.CreateCounter(
        "trustserver_retention_bytes_removed_total", "Bytes of metadata removed by retention.", []);

    public Counter RetentionFailures { get; } = Factory.CreateCounter(
        "trustserver_retention_failures_total", "Retention passes stopped by a failure, e.g. of the database (run again after Retention:Interval).", []);

    public Gauge RepositoriesExpiring { get; } = Factory.CreateGauge(
        "trustserver_repositories_expiring",
        "Repositories whose current file of a role class (root, targets, snapshot, timestamp, delegation) has expired (within=expired) or expires within 7d or 30d (not yet expired; 7d is part of 30d), from the background expiry scan.",
        ["role", "within"]);

    public Gauge ExpiryScanLastSuccess { get; } = Factory.CreateGauge(
        "trustserver_expiry_scan_last_success_seconds", "Unix time the last complete expiry scan ended; 0 before the first.", []);

    public Counter DatabaseErrors { get; } = Factory.CreateCounter(
        "trustserver_database_errors_total", "Requests that failed because the database failed.", []);

    public Counter StaleReads { get; } = Factory.CreateCounter(
        "trustserver_read_cache_stale_total", "Lookups answered from the read cache because the database failed (stale-if-error).", []);

    public Counter ChangefeedFollowerFailures { get; } = Factory.CreateCounter(
        "trustserver_changefeed_follower_failures_total", "Times the read cache stopped following the changefeed (database unreachable); it resumes by itself.", []);

    public Counter WebhookAttempts { get; } = Factory.CreateCounter(
        "trustserver_webhook_attempts_total", "Webhook delivery attempts by result: delivered (2xx), retry (failed, tried again later), failed (failed and given up).", ["result"]);

    public Counter WebhooksDelivered { get; } = Factory.CreateCounter(
        "trustserver_webhook_events_delivered_total", "Webhook events delivered (an endpoint answered 2xx).", []);

    public Counter WebhooksFailed { get; } = Factory.CreateCounter(
        "trustserver_webhook_events_failed_total", "Webhook events given up (dead-lettered: too many attempts, too old, or the endpoint is no longer configured).", []);

    public Gauge WebhookBacklog { get; } = Factory.CreateGauge(
        "trustserver_webhook_outbox_backlog", "Webhook events waiting for delivery (pending outbox rows), as the delivering replica last counted them.", []);

    /// <summary>
    /// Keeps <c>/metrics</c> to these metrics plus prometheus-net's process and debug metrics: the adapters that
    /// would also export every .NET meter (Kestrel, HttpClient, Npgsql, …) and event counter stay off — they cost
    /// CPU on each request. Takes effect when called before the first scrape (at startup); later calls do nothing.
    /// </summary>
    public static void SuppressRuntimeAdapters() =>
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressMeters = true, SuppressEventCounters = true });

    private static IMetricFactory CreateFactory()
    {
        var factory = Metrics.WithCustomRegistry(Metrics.DefaultRegistry);
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        return factory;
    }
}
