using Microsoft.Extensions.Options;
using TrustServer.Data;

namespace TrustServer.Server.Audit;

/// <summary>
/// The audit log's own retention (<see cref="AuditOptions.KeepDays"/>, off by default): every hour deletes the
/// entries older than the setting, oldest first, in batches of <see cref="BatchSize"/>, pausing between batches.
/// Deleting by age is idempotent, so replicas may run it at the same time. Nothing else deletes audit entries.
/// </summary>
internal sealed partial class AuditRetentionService(
    IAuditLog log, IOptions<AuditOptions> options, TimeProvider timeProvider, ILogger<AuditRetentionService> logger) : BackgroundService
{
    /// <summary>Entries deleted per statement.</summary>
    public const int BatchSize = 1000;

    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);
    private static readonly TimeSpan BatchPause = TimeSpan.FromMilliseconds(100);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var keepDays = options.Value.KeepDays;
        if (keepDays == 0)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DeleteExpiredAsync(TimeSpan.FromDays(keepDays), stoppingToken);
            }
            catch (Exception e) when (StorageErrors.IsDatabaseFailure(e))
            {
                LogFailed(e);
            }

            await Task.Delay(Interval, timeProvider, stoppingToken);
        }
    }

    /// <summary>One retention pass: deletes, batch by batch, every entry older than <paramref name="keep"/>; returns how many.</summary>
    public async Task<long> DeleteExpiredAsync(TimeSpan keep, CancellationToken cancellationToken)
    {
        var cutoff = timeProvider.GetUtcNow() - keep;
        long total = 0;
        int deleted;
        do
        {
            deleted = await log.DeleteOlderThanAsync(cutoff, BatchSize, cancellationToken);
            total += deleted;
            if (deleted == BatchSize)
            {
                await Task.Delay(BatchPause, timeProvider, cancellationToken);
            }
        }
        while (deleted == BatchSize);
        return total;
    }

    [LoggerMessage(EventId = 1801, Level = LogLevel.Warning, Message = "Audit retention failed; it runs again in an hour")]
    private partial void LogFailed(Exception exception);
}
