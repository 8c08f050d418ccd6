using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Observability;

namespace TrustServer.Server.Retention;

/// <summary>
/// Removes old metadata versions by <see cref="RetentionOptions"/> (off unless a rule is set): every
/// <c>Retention:Interval</c>, on the one replica holding the <c>retention</c> <see cref="IWorkerLease"/>, it walks every
/// repository in keyset pages and prunes each in transactions of at most <c>Retention:BatchSize</c> versions under the
/// repository's write lock (<see cref="IMetadataRetention"/>: one audit entry per transaction). Changefeed rows are
/// never removed.
/// </summary>
internal sealed partial class RetentionService(
    IMetadataRetention retention, IMetadataCatalog catalog, IWorkerLeases leases, IOptions<RetentionOptions> options,
    TimeProvider timeProvider, TrustServerMetrics metrics, ILogger<RetentionService> logger) : BackgroundService
{
    private const int GunPage = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var policy = options.Value.ToPolicy();
        if (!policy.Prunes)
        {
            return;
        }

        var lease = leases.Create("retention");
        await using var _ = lease.ConfigureAwait(false);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await lease.TryHoldAsync(stoppingToken))
                {
                    var (repositories, removed) = await RunPassAsync(policy, lease, stoppingToken);
                    LogPass(repositories, removed);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database failed (or something unforeseen): the next pass starts over; nothing half-done stays (one transaction per batch).
                metrics.RetentionFailures.Inc();
                LogFailed(e);
            }

            await Task.Delay(options.Value.Interval, timeProvider, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>One pass over every repository; returns how many were pruned and how many versions were removed.</summary>
    private async Task<(int Repositories, long Removed)> RunPassAsync(RetentionPolicy policy, IWorkerLease lease, CancellationToken cancellationToken)
    {
        var repositories = 0;
        long removed = 0;
        string? after = null;
        while (true)
        {
            var page = await catalog.ListGunsWithTimestampAsync(after, GunPage, cancellationToken);
            foreach (var gun in page)
            {
                var pruned = false;
                RetentionResult result;
                do
                {
                    // Another replica may have taken over (this one's session ended): stop at once.
                    if (!await lease.TryHoldAsync(cancellationToken))
                    {
                        return (repositories, removed);
                    }

                    result = await retention.PruneAsync(gun, policy, timeProvider.GetUtcNow(), options.Value.BatchSize, dryRun: false, cancellationToken);
                    if (result.Removed.Count > 0)
                    {
                        pruned = true;
                        removed += result.Removed.Count;
                        metrics.RetentionFilesRemoved.Inc(result.Removed.Count);
                        metrics.RetentionBytesRemoved.Inc(result.Removed.Sum(r => (double)r.Bytes));
                    }
                }
                while (result.More);

                repositories += pruned ? 1 : 0;
            }

            if (page.Count < GunPage)
            {
                return (repositories, removed);
            }

            after = page[^1];
        }
    }

    [LoggerMessage(EventId = 1870, Level = LogLevel.Information, Message = "Retention pass done: {Removed} old versions removed from {Repositories} repositories")]
    private partial void LogPass(int repositories, long removed);

    [LoggerMessage(EventId = 1871, Level = LogLevel.Warning, Message = "Retention pass failed; it runs again after Retention:Interval")]
    private partial void LogFailed(Exception exception);
}
