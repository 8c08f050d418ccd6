using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Options;

namespace TrustServer.Server.Notary;

/// <summary>
/// Follows the changefeed so that the read cache of this replica drops what other replicas changed: woken by
/// PostgreSQL notifications, and in any case every <see cref="ReadCacheOptions.ChangefeedPollSeconds"/>. When the
/// changefeed cannot be read, the whole cache is dropped.
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
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Start from the newest record: the cache is empty (or was just dropped), so older ones do not matter.
                last ??= (await store.GetChangesAsync(null, -1, -1, stoppingToken)).LastOrDefault()?.Id ?? 0;
                await signal.WaitAsync(poll, stoppingToken);
                IReadOnlyList<ChangeRecord> changes;
                do
                {
                    changes = await store.GetChangesAsync(null, last.Value, Page, stoppingToken);
                    foreach (var change in changes)
                    {
                        cache.Invalidate(change.Gun);
                        last = change.Id;
                    }
                }
                while (changes.Count == Page);
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

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Following the changefeed failed; the read cache was dropped")]
    private static partial void LogFollowFailed(ILogger logger, Exception exception);
}
