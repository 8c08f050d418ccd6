using System.Diagnostics;
using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Observability;

namespace TrustServer.Server.Notary;

/// <summary>
/// Keeps the read cache of this replica coherent with what other replicas write: a PostgreSQL notification names the
/// GUN written, which is dropped at once; the changefeed is read every
/// <see cref="ReadCacheOptions.ChangefeedPollSeconds"/> in any case (and at once after a notification that names no
/// GUN), which bounds the staleness when notifications are lost. The poll runs on the machine's clock, not on the
/// injected <see cref="TimeProvider"/> (metadata time).
/// </summary>
/// <remarks>
/// When listening or reading the changefeed fails (database restart, lost connection), the cache stops serving hits
/// (<see cref="MetadataReadCache.Suspend"/>: reads go to the database, or to stale-if-error while it is down) and the
/// follower retries after 100 ms, then doubling up to <see cref="MaxRetryDelay"/>. It resumes in this order: LISTEN
/// on a new connection (every later commit is notified), read the changefeed from the last change it applied (every
/// earlier commit, including those made while it was not listening, is applied), then drop every entry read before
/// (<see cref="MetadataReadCache.Resume"/>). Nothing committed around the reconnect can be missed, and nothing read
/// while disconnected outlives it.
/// </remarks>
internal sealed partial class CacheInvalidationService(
    IMetadataStore store, IChangeSignal signal, MetadataReadCache cache, IOptions<ReadCacheOptions> options, TrustServerMetrics metrics,
    ILogger<CacheInvalidationService> logger)
    : BackgroundService
{
    private const int Page = 1000;

    /// <summary>The longest wait between two attempts to resume following the changefeed.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!cache.Enabled)
        {
            return;
        }

        var poll = TimeSpan.FromSeconds(options.Value.ChangefeedPollSeconds);
        long last = -1; // the id of the last change applied, kept across failures; -1 until the first one is known
        var following = false;
        var failures = 0;
        var retryDelay = FirstRetryDelay;
        var lastRead = Stopwatch.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!following)
                {
                    last = await ResumeAsync(last, stoppingToken);
                    lastRead = Stopwatch.GetTimestamp();
                    following = true;
                    if (failures > 0)
                    {
                        LogResumed(logger, last, failures);
                        failures = 0;
                        retryDelay = FirstRetryDelay;
                    }
                }

                var untilRead = poll - Stopwatch.GetElapsedTime(lastRead);
                var notice = untilRead > TimeSpan.Zero ? await signal.WaitAsync(untilRead, stoppingToken) : ChangeNotice.None;
                foreach (var gun in notice.Guns)
                {
                    cache.Invalidate(gun);
                }

                if (notice.Unnamed || Stopwatch.GetElapsedTime(lastRead) >= poll)
                {
                    last = await FollowChangefeedAsync(last, stoppingToken);
                    lastRead = Stopwatch.GetTimestamp();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                cache.Suspend();
                following = false;
                if (failures++ == 0)
                {
                    LogFollowFailed(logger, e);
                    metrics.ChangefeedFollowerFailures.Inc();
                }
                else
                {
                    LogStillFailing(logger, failures, e.Message);
                }

                await Task.Delay(retryDelay, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                retryDelay = TimeSpan.FromTicks(Math.Min(retryDelay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    // Listen first, then apply what was committed since `last`, then drop what was read before (see the remarks).
    // At start (`last` is -1), and when the changefeed ends before `last` (the database was replaced), there is nothing
    // to replay: the drop covers everything read so far. Returns the id of the newest change applied.
    private async Task<long> ResumeAsync(long last, CancellationToken cancellationToken)
    {
        await signal.ListenAsync(cancellationToken);
        var newest = (await store.GetChangesAsync(null, -1, -1, cancellationToken)).LastOrDefault()?.Id ?? 0;
        var applied = last >= 0 && last <= newest ? await FollowChangefeedAsync(last, cancellationToken) : newest;
        cache.Resume();
        return applied;
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

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Following the changefeed failed; the read cache is bypassed until it resumes")]
    private static partial void LogFollowFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Following the changefeed resumed after change {ChangeId} ({Failures} failed attempts)")]
    private static partial void LogResumed(ILogger logger, long changeId, int failures);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Debug, Message = "Resuming the changefeed failed again ({Failures} attempts): {Reason}")]
    private static partial void LogStillFailing(ILogger logger, int failures, string reason);
}
