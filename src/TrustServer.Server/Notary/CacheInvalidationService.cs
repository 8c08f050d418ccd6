using System.Diagnostics;
using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Options;

namespace TrustServer.Server.Notary;

/// <summary>
/// Keeps the read cache of this replica coherent with what other replicas write: a PostgreSQL notification names the
/// GUN written, which is dropped at once; the changefeed is read every
/// <see cref="ReadCacheOptions.ChangefeedPollSeconds"/> in any case (and at once after a notification that names no
/// GUN), which bounds the staleness when notifications are lost. When the changefeed cannot be read, the whole cache
/// is dropped. The poll runs on the machine's clock, not on the injected <see cref="TimeProvider"/> (metadata time).
/// </summary>
internal sealed partial class CacheInvalidationService(
    IMetadataStore store, IChangeSignal signal, MetadataReadCache cache, IOptions<ReadCacheOptions> options, ILogger<CacheInvalidationService> logger)
    : BackgroundService
{
    private const int Page = 1000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!cache.Enabled)
        {
            return;
        }

        var poll = TimeSpan.FromSeconds(options.Value.ChangefeedPollSeconds);
        long? last = null;
        var lastRead = Stopwatch.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (last is null)
                {
                    // Start from the newest record: the cache is empty (or was just dropped), so older ones do not matter.
                    last = (await store.GetChangesAsync(null, -1, -1, stoppingToken)).LastOrDefault()?.Id ?? 0;
                    lastRead = Stopwatch.GetTimestamp();
                }

                var untilRead = poll - Stopwatch.GetElapsedTime(lastRead);
                var notice = untilRead > TimeSpan.Zero ? await signal.WaitAsync(untilRead, stoppingToken) : ChangeNotice.None;
                foreach (var gun in notice.Guns)
                {
                    cache.Invalidate(gun);
                }

                if (notice.Unnamed || Stopwatch.GetElapsedTime(lastRead) >= poll)
                {
                    last = await FollowChangefeedAsync(last.Value, stoppingToken);
                    lastRead = Stopwatch.GetTimestamp();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogFollowFailed(logger, e);
                cache.InvalidateAll();
                last = null;
                await Task.Delay(poll, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    // Drops the GUN of every change record after `last`; returns the id of the newest one read.
    private async Task<long> FollowChangefeedAsync(long last, CancellationToken cancellationToken)
    {
        IReadOnlyList<ChangeRecord> changes;
        do
        {
            changes = await store.GetChangesAsync(null, last, Page, cancellationToken);
            foreach (var change in changes)
            {
                cache.Invalidate(change.Gun);
                last = change.Id;
            }
        }
        while (changes.Count == Page);

        return last;
    }

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Following the changefeed failed; the read cache was dropped")]
    private static partial void LogFollowFailed(ILogger logger, Exception exception);
}
