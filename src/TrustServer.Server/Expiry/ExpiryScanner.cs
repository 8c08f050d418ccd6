using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Data.Webhooks;
using TrustServer.Server.Notary;
using TrustServer.Server.Observability;
using TrustServer.Tuf;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Server.Expiry;

/// <summary>
/// Counts, every <c>ExpiryAlerts:Interval</c>, how many repositories have a current file of each role class that has
/// expired or expires within 7 or 30 days, and publishes them as <c>trustserver_repositories_expiring{role,within}</c>
/// — so alerts fire for repositories nobody reads.
/// </summary>
/// <remarks>
/// Every replica scans (read-only: one query for the latest file of each role per repository, a few more only when
/// a newer file is not yet current), so each replica's <c>/metrics</c> is complete on its own and the alert rules
/// take the maximum over replicas. The gauges keep the last complete scan's values; a failed scan leaves them and
/// <c>trustserver_expiry_scan_last_success_seconds</c> unchanged.
/// </remarks>
internal sealed partial class ExpiryScanner(
    IMetadataCatalog catalog, CurrentChainReader chains, TimeProvider timeProvider, IOptions<ExpiryAlertOptions> options,
    ExpiryScanStatus status, TrustServerMetrics metrics, IWebhookOutbox webhooks, ILogger<ExpiryScanner> logger)
    : BackgroundService
{
    /// <summary>The windows, as the <c>within</c> label and their length; <c>expired</c> is counted apart from them.</summary>
    public static readonly IReadOnlyList<(string Label, TimeSpan Length)> Windows = [("7d", TimeSpan.FromDays(7)), ("30d", TimeSpan.FromDays(30))];

    /// <summary>The <c>within</c> label of repositories whose file has already expired.</summary>
    public const string Expired = "expired";

    /// <summary>Role classes, the <c>role</c> label: the four base roles and <c>delegation</c> for every <c>targets/…</c> role.</summary>
    public static readonly IReadOnlyList<string> RoleClasses = [RoleName.Root, RoleName.Targets, RoleName.Snapshot, RoleName.Timestamp, "delegation"];

    private readonly ExpiryAlertOptions _options = options.Value;

    /// <summary>The role class of a role name (the <c>role</c> label).</summary>
    public static string RoleClassOf(string role) => RoleName.IsDelegation(role) ? "delegation" : role;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var started = timeProvider.GetTimestamp();
                var repositories = await ScanAsync(stoppingToken);
                LogScanned(repositories, timeProvider.GetElapsedTime(started).TotalMilliseconds);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogScanFailed(e);
            }

            try
            {
                await Task.Delay(_options.Interval, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One scan over every repository with a timestamp; returns how many it looked at.</summary>
    private async Task<int> ScanAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var counts = RoleClasses.ToDictionary(r => r, _ => new int[Windows.Count + 1], StringComparer.Ordinal);
        var scanned = 0;
        string? after = null;
        while (true)
        {
            var page = await catalog.ListGunsWithTimestampAsync(after, _options.PageSize, cancellationToken);
            var crossings = new List<ExpiryCrossing>();
            foreach (var gun in page)
            {
                scanned++;
                var current = await chains.GetCurrentFilesAsync(gun, cancellationToken);
                Count(gun, current, now, counts);
                AddCrossings(gun, current, now, crossings);
            }

            // The expiring webhook events, once per crossing across scans and replicas (nothing when no endpoint wants them).
            await webhooks.AnnounceExpiringAsync(crossings, now, cancellationToken);

            if (page.Count < _options.PageSize)
            {
                break;
            }

            after = page[^1];
        }

        var result = new Dictionary<(string Role, string Within), int>();
        foreach (var (role, windows) in counts)
        {
            result[(role, Expired)] = windows[0];
            for (var i = 0; i < Windows.Count; i++)
            {
                result[(role, Windows[i].Label)] = windows[i + 1];
            }
        }

        foreach (var ((role, within), count) in result)
        {
            metrics.RepositoriesExpiring.WithLabels(role, within).Set(count);
        }

        var completed = timeProvider.GetUtcNow();
        metrics.ExpiryScanLastSuccess.Set(completed.ToUnixTimeMilliseconds() / 1000.0);
        status.Last = new ExpiryScanResult(completed, scanned, result);
        return scanned;
    }

    // A repository counts once per role class and window: the earliest expiry of its files of that class decides.
    private void Count(string gun, IReadOnlyDictionary<string, StoredFile> current, DateTimeOffset now, Dictionary<string, int[]> counts)
    {
        var earliest = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var (role, file) in current)
        {
            DateTimeOffset expires;
            try
            {
                expires = SignedEnvelope.Parse(file.Data).Expires.Instant;
            }
            catch (TufFormatException e)
            {
                LogUnreadable(gun, role, e.Message);
                continue;
            }

            var roleClass = RoleClassOf(role);
            if (!earliest.TryGetValue(roleClass, out var known) || expires < known)
            {
                earliest[roleClass] = expires;
            }
        }

        foreach (var (roleClass, expires) in earliest)
        {
            var windows = counts[roleClass];
            if (expires <= now)
            {
                windows[0]++;
                continue;
            }

            for (var i = 0; i < Windows.Count; i++)
            {
                if (expires <= now + Windows[i].Length)
                {
                    windows[i + 1]++;
                }
            }
        }
    }

    /// <summary>
    /// The <c>expiring</c> webhook crossings of a repository: each current root, targets and delegation file (the
    /// roles owners renew; the server renews timestamp and snapshot ahead of expiry) that has expired or expires
    /// within 7 or 30 days, with the narrowest window it is in.
    /// </summary>
    private static void AddCrossings(string gun, IReadOnlyDictionary<string, StoredFile> current, DateTimeOffset now, List<ExpiryCrossing> crossings)
    {
        foreach (var (role, file) in current)
        {
            if (role is RoleName.Snapshot or RoleName.Timestamp)
            {
                continue;
            }

            DateTimeOffset expires;
            try
            {
                expires = SignedEnvelope.Parse(file.Data).Expires.Instant;
            }
            catch (TufFormatException)
            {
                continue; // logged by Count
            }

            var within = expires <= now ? Expired : Windows.FirstOrDefault(w => expires <= now + w.Length).Label;
            if (within is not null)
            {
                crossings.Add(new ExpiryCrossing(gun, role, file.Version, expires, within));
            }
        }
    }

    [LoggerMessage(EventId = 1890, Level = LogLevel.Debug, Message = "Expiry scan looked at {Repositories} repositories in {ElapsedMs} ms")]
    private partial void LogScanned(int repositories, double elapsedMs);

    [LoggerMessage(EventId = 1891, Level = LogLevel.Warning, Message = "Expiry scan failed; the expiry gauges keep the last scan's values until the next interval")]
    private partial void LogScanFailed(Exception exception);

    [LoggerMessage(EventId = 1892, Level = LogLevel.Warning, Message = "Expiry scan cannot read the current {Role} of {Gun}: {Reason}")]
    private partial void LogUnreadable(string gun, string role, string reason);
}

/// <summary>A complete expiry scan: when it ended, how many repositories it looked at, and the gauges' values.</summary>
internal sealed record ExpiryScanResult(DateTimeOffset Completed, int Repositories, IReadOnlyDictionary<(string Role, string Within), int> Counts);

/// <summary>
/// This replica's last complete expiry scan (the gauges live in prometheus-net's process-wide registry, shared by
/// every host in one process).
/// </summary>
internal sealed class ExpiryScanStatus
{
    private volatile ExpiryScanResult? _last;

    /// <summary>The last complete scan; null before the first.</summary>
    public ExpiryScanResult? Last
    {
        get => _last;
        set => _last = value;
    }
}
