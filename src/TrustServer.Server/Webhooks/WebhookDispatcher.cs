using TrustServer.Server.Options;
using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Data.Webhooks;
using TrustServer.Server.Observability;

namespace TrustServer.Server.Webhooks;

/// <summary>
/// Delivers the outbox: on one replica at a time (the <c>webhooks</c> worker lease: a PostgreSQL advisory lock; with
/// SQLite the single process), the oldest pending event of each (endpoint, GUN) that is due, at least once, POSTed
/// with its signature; failures are retried with exponential backoff until <c>MaxAttempts</c> or <c>MaxAge</c>, then
/// the event is marked failed. Wakes on this replica's commits (<see cref="WebhookSignal"/>) and polls every
/// <c>PollInterval</c> for other replicas' events and for the lease. Deletes completed events after <c>KeepDays</c>.
/// </summary>
internal sealed partial class WebhookDispatcher(
    IWebhookOutbox outbox,
    IWorkerLeases leases,
    WebhookComposer composer,
    WebhookSignal signal,
    IOptions<WebhookOptions> options,
    TimeProvider timeProvider,
    TrustServerMetrics metrics,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    /// <summary>The worker lease's name.</summary>
    public const string LeaseName = "webhooks";

    /// <summary>The header with the body's HMAC-SHA256: <c>sha256=&lt;lowercase hex&gt;</c>.</summary>
    public const string SignatureHeader = "X-TrustServer-Signature";

    /// <summary>The header with the event type (<c>published</c>, …).</summary>
    public const string EventHeader = "X-TrustServer-Event";

    /// <summary>The header with the attempt number (1 for the first).</summary>
    public const string AttemptHeader = "X-TrustServer-Delivery-Attempt";

    /// <summary>How much of a response body is read (into the attempt's error), at most.</summary>
    public const int ResponseBodyLimit = 512;

    private static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);
    private static readonly MediaTypeHeaderValue CloudEventsJson = MediaTypeHeaderValue.Parse("application/cloudevents+json; charset=utf-8");

    private readonly WebhookOptions _options = options.Value;
    private DateTimeOffset _nextPrune = DateTimeOffset.MinValue;

    /// <summary>Whether this replica holds the lease (delivers); for the admin API.</summary>
    public bool Delivering { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        using var http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false, // a redirect would send the signed body elsewhere
            ConnectTimeout = _options.Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        {
            Timeout = _options.Timeout,
        };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("TrustServer-Webhooks/1");
        await using var lease = leases.Create(LeaseName);
        LogStarted(composer.Endpoints.Count);
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = _options.PollInterval;
            try
            {
                Delivering = await lease.TryHoldAsync(stoppingToken);
                if (Delivering)
                {
                    var due = await outbox.GetDueAsync(timeProvider.GetUtcNow(), _options.MaxConcurrency * 4, stoppingToken);
                    await Parallel.ForEachAsync(
                        due, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrency, CancellationToken = stoppingToken }, (e, ct) => new ValueTask(DeliverAsync(http, e, ct)));
                    metrics.WebhookBacklog.Set(await outbox.CountPendingAsync(stoppingToken));
                    await PruneIfDueAsync(stoppingToken);
                    if (due.Count > 0)
                    {
                        continue; // more may be due, or the next of a GUN became the oldest
                    }

                    if (await outbox.GetNextDueAsync(stoppingToken) is { } next)
                    {
                        var until = next - timeProvider.GetUtcNow();
                        wait = until < TimeSpan.Zero ? TimeSpan.Zero : until < wait ? until : wait;
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (StorageErrors.IsDatabaseFailure(e))
            {
                LogDatabaseFailed(e);
            }
            catch (Exception e)
            {
                // Never stop the host over one pass: the events stay pending and the next pass tries again.
                LogPassFailed(e);
            }

            try
            {
                await signal.WaitAsync(wait, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task DeliverAsync(HttpClient http, WebhookOutboxRecord e, CancellationToken cancellationToken)
    {
        var endpoint = composer.Endpoints.FirstOrDefault(x => x.Url == e.EndpointUrl);
        var started = timeProvider.GetUtcNow();
        var clock = Stopwatch.StartNew();
        int? status = null;
        string? error;
        if (endpoint is null)
        {
            error = "the endpoint is no longer configured";
        }
        else
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url) { Content = new ByteArrayContent(e.Payload) };
                request.Content.Headers.ContentType = CloudEventsJson;
                request.Headers.Add(SignatureHeader, endpoint.Sign(e.Payload));
                request.Headers.Add(EventHeader, e.EventType);
                request.Headers.Add(AttemptHeader, (e.Attempts + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                status = (int)response.StatusCode;
                error = response.IsSuccessStatusCode ? null : $"HTTP {status}: {await ReadStartAsync(response, cancellationToken)}";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException && !cancellationToken.IsCancellationRequested)
            {
                error = ex is TaskCanceledException ? $"timed out after {_options.Timeout.TotalSeconds:0.#} s" : ex.GetType().Name + ": " + ex.Message;
            }
        }

        var duration = (int)Math.Min(clock.ElapsedMilliseconds, int.MaxValue);
        string outcome;
        DateTimeOffset? next = null;
        if (error is null)
        {
            outcome = WebhookStatuses.Delivered;
            metrics.WebhookAttempts.WithLabels("delivered").Inc();
            metrics.WebhooksDelivered.Inc();
            LogDelivered(e.EventType, e.Gun, endpoint!.DisplayUrl, e.Id, e.Attempts + 1, status!.Value);
        }
        else
        {
            var retryAt = started + Backoff(e.Attempts + 1);
            if (endpoint is not null && e.Attempts + 1 < _options.MaxAttempts && retryAt <= e.CreatedAt + _options.MaxAge)
            {
                outcome = WebhookStatuses.Pending;
                next = retryAt;
                metrics.WebhookAttempts.WithLabels("retry").Inc();
                LogRetry(e.EventType, e.Gun, endpoint.DisplayUrl, e.Id, e.Attempts + 1, error, retryAt);
            }
            else
            {
                outcome = WebhookStatuses.Failed;
                metrics.WebhookAttempts.WithLabels("failed").Inc();
                metrics.WebhooksFailed.Inc();
                LogGaveUp(e.EventType, e.Gun, WebhookEndpoint.Display(e.EndpointUrl), e.Id, e.Attempts + 1, error);
            }
        }

        // Recorded even when stopping: the attempt happened. Not recorded when the database fails: the event stays
        // pending and is delivered again (at least once).
        await outbox.RecordAttemptAsync(e.Id, new WebhookAttempt(started, duration, status, error, next), outcome, CancellationToken.None);
    }

    /// <summary>Wait before attempt <paramref name="failed"/> + 1: InitialBackoff · 2^(failed-1), at most MaxBackoff.</summary>
    private TimeSpan Backoff(int failed)
    {
        var factor = Math.Pow(2, Math.Min(failed - 1, 30));
        var ticks = Math.Min(_options.InitialBackoff.Ticks * factor, _options.MaxBackoff.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    // At most ResponseBodyLimit bytes, as text with control characters replaced.
    private static async Task<string> ReadStartAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[ResponseBodyLimit];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken)) > 0)
        {
            read += n;
        }

        var text = System.Text.Encoding.UTF8.GetString(buffer, 0, read);
        return new string([.. text.Select(c => char.IsControl(c) ? ' ' : c)]).Trim();
    }

    private async Task PruneIfDueAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (now < _nextPrune)
        {
            return;
        }

        _nextPrune = now + PruneInterval;
        int deleted;
        var total = 0;
        do
        {
            // Notices of expiries more than a year past: an expired role nobody renewed is announced again after a year.
            deleted = await outbox.PruneAsync(now - TimeSpan.FromDays(_options.KeepDays), now - TimeSpan.FromDays(365), 1000, cancellationToken);
            total += deleted;
        }
        while (deleted == 1000);

        if (total > 0)
        {
            LogPruned(total, _options.KeepDays);
        }
    }

    [LoggerMessage(EventId = 1550, Level = LogLevel.Information, Message = "Webhook delivery started for {Endpoints} endpoints (delivers while it holds the webhooks lease)")]
    private partial void LogStarted(int endpoints);

    [LoggerMessage(EventId = 1551, Level = LogLevel.Information, Message = "Webhook {EventType} of {Gun} delivered to {Endpoint} (event {OutboxId}, attempt {Attempt}, HTTP {StatusCode})")]
    private partial void LogDelivered(string eventType, string gun, string endpoint, long outboxId, int attempt, int statusCode);

    [LoggerMessage(EventId = 1552, Level = LogLevel.Warning, Message = "Webhook {EventType} of {Gun} to {Endpoint} failed (event {OutboxId}, attempt {Attempt}): {Error}; next attempt at {NextAttempt}")]
    private partial void LogRetry(string eventType, string gun, string endpoint, long outboxId, int attempt, string error, DateTimeOffset nextAttempt);

    [LoggerMessage(EventId = 1553, Level = LogLevel.Error, Message = "Webhook {EventType} of {Gun} to {Endpoint} given up after {Attempt} attempts (event {OutboxId}): {Error}")]
    private partial void LogGaveUp(string eventType, string gun, string endpoint, long outboxId, int attempt, string error);

    [LoggerMessage(EventId = 1554, Level = LogLevel.Warning, Message = "Webhook delivery paused: the database failed; retrying after the poll interval")]
    private partial void LogDatabaseFailed(Exception exception);

    [LoggerMessage(EventId = 1556, Level = LogLevel.Error, Message = "Webhook delivery pass failed; retrying after the poll interval")]
    private partial void LogPassFailed(Exception exception);

    [LoggerMessage(EventId = 1555, Level = LogLevel.Information, Message = "Webhook outbox retention deleted {Count} events completed more than {KeepDays} days ago")]
    private partial void LogPruned(int count, int keepDays);
}

/// <summary>Registration of webhooks.</summary>
internal static class WebhookHostingExtensions
{
    /// <summary>Options (validated at start), the composer the data layer calls inside its transactions, and the delivery worker.</summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services)
    {
        services.AddValidatedOptions<WebhookOptions>(WebhookOptions.Section);
        services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();
        services.AddSingleton<WebhookSignal>();
        services.AddSingleton<WebhookComposer>();
        services.AddSingleton<IWebhookComposer>(sp => sp.GetRequiredService<WebhookComposer>());
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        return services;
    }
}
