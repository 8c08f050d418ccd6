using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Observability;
using TrustServer.Server.Options;
using TrustServer.Signing;
using TrustServer.Tuf;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Notary;

/// <summary>
/// Renews server-managed timestamps (and snapshots whose key the server holds) ahead of expiry — when less than
/// <c>Signing:Lifetimes:RenewWhenRemaining</c> of the lifetime is left — so that a repository nobody reads stays
/// valid and a signer outage shorter than that margin is invisible to clients. Re-signing and committing is
/// <see cref="ChainResigner"/>'s, shared with the lazy re-sign on read.
/// </summary>
/// <remarks>
/// <para>One replica works at a time: the holder of the <c>resigner</c> <see cref="IWorkerLease"/> (PostgreSQL
/// advisory lock on a dedicated session; SQLite: the process). Replicas without it retry every
/// <see cref="LeaseRetry"/>; one that loses it (its session ends) stops and forgets its schedule.</para>
/// <para>The holder loads every repository in keyset pages into a <see cref="RenewalSchedule"/> — one query per page
/// reads each repository's newest timestamp and snapshot (<see cref="IMetadataCatalog.ListRepositoryHeadsAsync"/>), so
/// only a repository that needs renewal, or whose newest snapshot is not the one its timestamp names, costs queries of
/// its own — and sleeps until
/// the earliest renewal falls due, or until the changefeed is read again (every <see cref="DiscoveryInterval"/>: new
/// repositories are scheduled the same way, from one query per changefeed page; deleted ones forgotten). Renewals
/// are paced to <c>Signing:Resigner:MaxPerSecond</c>, at most <c>BatchSize</c> per round. A repository whose root lists
/// no timestamp key the server holds (imported, awaiting rotation) is never signed: skipped, counted and logged once,
/// then looked at again only when it changes. When the signer or the database fails, every due repository waits
/// (1 s, doubling up to <see cref="MaxBackoff"/>) and counts as at risk for the readiness probe.</para>
/// </remarks>
internal sealed partial class BackgroundResigner(
    IMetadataStore store, IMetadataCatalog catalog, IWorkerLeases leases, CurrentChainReader chains, ChainResigner resigner,
    ISigningService signer, ResignerStatus status, TimeProvider timeProvider, IOptions<SigningOptions> signing,
    TrustServerMetrics metrics, ILogger<BackgroundResigner> logger)
    : BackgroundService
{
    /// <summary>How often a replica without the lease asks for it again.</summary>
    public static readonly TimeSpan LeaseRetry = TimeSpan.FromSeconds(5);

    /// <summary>How often the worker reads the changefeed for new and deleted repositories.</summary>
    public static readonly TimeSpan DiscoveryInterval = TimeSpan.FromSeconds(2);

    /// <summary>The longest wait after failures before due repositories are tried again.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(1);

    private const int ChangePage = 1000;

    // The audit entry of a renewal ahead of expiry (principal system:resigner), written in the renewal's transaction.
    private static readonly AuditContext ScheduledAudit = new(AuditActions.Resign, AuditActor.System("resigner"), "renewed ahead of expiry");
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);

    private readonly ResignerOptions _options = signing.Value.Resigner;
    private readonly ServerLifetimes _lifetimes = resigner.Lifetimes;
    private readonly RenewalSchedule _schedule = new();

    // Which server-managed roles each repository's current root lets the server sign, by the root's checksum.
    private readonly Dictionary<string, Holdings> _holdings = new(StringComparer.Ordinal);

    // Repositories due and not renewed because the signer or the database failed.
    private readonly HashSet<string> _atRisk = new(StringComparer.Ordinal);

    // Repositories set aside until they change (skipped, or their chain cannot be renewed): the root checksum logged.
    private readonly Dictionary<string, string> _setAside = new(StringComparer.Ordinal);

    private long _lastChange;
    private DateTimeOffset _nextSlot;
    private TimeSpan _backoff = FirstBackoff;

    private enum Outcome
    {
        Done,
        Failed,
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        var lease = leases.Create("resigner");
        await using var _ = lease.ConfigureAwait(false);
        var working = false;
        metrics.ResignerEarliestExpiry.Set(double.NaN);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!await lease.TryHoldAsync(stoppingToken))
                {
                    if (working)
                    {
                        LogLeaseLost();
                        working = false;
                        Forget();
                    }

                    await Task.Delay(LeaseRetry, timeProvider, stoppingToken);
                    continue;
                }

                if (!working)
                {
                    await LoadAsync(stoppingToken);
                    working = status.Working = true;
                    status.Scheduled = _schedule.Count;
                    metrics.ResignerScheduled.Set(_schedule.Count);
                    LogWorking(_schedule.Count);
                }

                await FollowChangefeedAsync(stoppingToken);
                var failed = await RenewDueAsync(stoppingToken);
                Publish();
                var wait = failed ? NextBackoff() : UntilNextRound();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, timeProvider, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Loading or following the changefeed failed (database unreachable): start over from a fresh load.
                LogRoundFailed(e);
                working = status.Working = false;
                await Task.Delay(NextBackoff(), timeProvider, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>
    /// Reads the changefeed's end, then every repository in pages of their heads (one query per page); whatever
    /// changes meanwhile comes from the feed.
    /// </summary>
    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        Forget();
        _lastChange = (await store.GetChangesAsync(null, -1, -1, cancellationToken)).LastOrDefault()?.Id ?? 0;
        string? after = null;
        while (true)
        {
            var page = await catalog.ListRepositoryHeadsAsync(after, _options.BatchSize, cancellationToken);
            var now = timeProvider.GetUtcNow();
            foreach (var head in page)
            {
                if (!TrySchedule(head, now))
                {
                    await EvaluateAsync(head.Gun, renew: false, cancellationToken);
                }
            }

            if (page.Count < _options.BatchSize)
            {
                return;
            }

            after = page[^1].Gun;
        }
    }

    private void Forget()
    {
        status.Working = false;
        _schedule.Clear();
        _holdings.Clear();
        _atRisk.Clear();
        _setAside.Clear();
        status.Report(0, null);
        metrics.ResignerAtRisk.Set(0);
        status.Scheduled = 0;
        metrics.ResignerScheduled.Set(0);
        metrics.ResignerEarliestExpiry.Set(double.NaN);
    }

    /// <summary>
    /// New or changed repositories not scheduled are looked at now, from their heads read in one query per changefeed
    /// page; deleted ones are forgotten.
    /// </summary>
    private async Task FollowChangefeedAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<ChangeRecord> changes;
        var discovered = new HashSet<string>(StringComparer.Ordinal);
        do
        {
            changes = await store.GetChangesAsync(null, _lastChange, ChangePage, cancellationToken);
            foreach (var change in changes)
            {
                _lastChange = change.Id;
                if (change.Category == "deletion")
                {
                    Drop(change.Gun);
                    discovered.Remove(change.Gun);
                }
                else if (!_schedule.Contains(change.Gun))
                {
                    // A scheduled repository needs nothing: a publish only moves its renewal later, which is seen
                    // when the old due time comes. One set aside is looked at again (logged again only when its root changed).
                    discovered.Add(change.Gun);
                }
            }

            await DiscoverAsync(discovered, cancellationToken);
            discovered.Clear();
        }
        while (changes.Count == ChangePage);
    }

    /// <summary>
    /// Schedules <paramref name="guns"/> from their heads; what needs renewal, or whose head does not show its current
    /// chain, is due now (<see cref="RenewDueAsync"/> looks at it alone); one without a timestamp (deleted) is forgotten.
    /// </summary>
    private async Task DiscoverAsync(HashSet<string> guns, CancellationToken cancellationToken)
    {
        if (guns.Count == 0)
        {
            return;
        }

        var heads = await catalog.GetRepositoryHeadsAsync(guns, cancellationToken);
        var now = timeProvider.GetUtcNow();
        foreach (var head in heads)
        {
            guns.Remove(head.Gun);
            if (!TrySchedule(head, now))
            {
                _schedule.Set(head.Gun, now, null);
            }
        }

        foreach (var gone in guns)
        {
            Drop(gone);
        }
    }

    /// <summary>Renews up to a batch of due repositories; true when the signer or the database failed.</summary>
    private async Task<bool> RenewDueAsync(CancellationToken cancellationToken)
    {
        for (var handled = 0; handled < _options.BatchSize && _schedule.TryTakeDue(timeProvider.GetUtcNow(), out var gun); handled++)
        {
            if (await EvaluateAsync(gun, renew: true, cancellationToken) == Outcome.Failed)
            {
                // Whatever else is due now would fail the same way: it all waits for the backoff.
                var retry = timeProvider.GetUtcNow() + _backoff;
                var now = timeProvider.GetUtcNow();
                while (_schedule.TryTakeDue(now, out var waiting))
                {
                    _atRisk.Add(waiting);
                    _schedule.Set(waiting, retry, _schedule.ExpiryOf(waiting));
                }

                _schedule.Set(gun, retry, _schedule.ExpiryOf(gun));
                return true;
            }
        }

        _backoff = FirstBackoff;
        return false;
    }

    /// <summary>
    /// Looks at one repository: schedules its next renewal, or (when <paramref name="renew"/>) renews it when due.
    /// </summary>
    private async Task<Outcome> EvaluateAsync(string gun, bool renew, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        try
        {
            var reader = await chains.LatestFirstAsync(gun, cancellationToken);
            var chain = await chains.LoadChainAsync(reader, gun, cancellationToken);
            if (chain is null)
            {
                Drop(gun);
                return Outcome.Done;
            }

            var current = chain.ToCurrentChain();
            var known = _holdings.GetValueOrDefault(gun);

            // Until the root says otherwise, assume the snapshot is the server's: the earlier of the two due times.
            var snapshotHeld = known?.Snapshot ?? true;
            if (ChainRenewal.Assess(current, now, _lifetimes.TimestampMargin, snapshotHeld ? _lifetimes.SnapshotMargin : null) == RenewalNeed.None)
            {
                Schedule(gun, current, snapshotHeld, known is not null);
                return Outcome.Done;
            }

            if (!renew)
            {
                _schedule.Set(gun, now, ChainRenewal.EarliestServerExpiry(current, snapshotServerHeld: false));
                return Outcome.Done;
            }

            var root = await CurrentChainReader.GetBySnapshotEntryAsync(reader, gun, RoleName.Root, chain.Snapshot, cancellationToken)
                ?? throw new ChainRenewalException("the current snapshot names no stored root");
            var holdings = await HoldingsAsync(gun, root, cancellationToken);
            if (!holdings.Timestamp)
            {
                SetAside(gun, root.Sha256, skipped: true, "the root lists no timestamp key the server holds");
                return Outcome.Done;
            }

            var need = ChainRenewal.Assess(current, now, _lifetimes.TimestampMargin, holdings.Snapshot ? _lifetimes.SnapshotMargin : null);
            if (need == RenewalNeed.None)
            {
                Schedule(gun, current, holdings.Snapshot, true);
                return Outcome.Done;
            }

            await PaceAsync(cancellationToken);
            var renewed = await resigner.ResignAsync(gun, chain, need, ChainResigner.Scheduled, root, ScheduledAudit, cancellationToken);
            if (renewed is null)
            {
                // Another writer changed the repository meanwhile: look again at once.
                _schedule.Set(gun, timeProvider.GetUtcNow(), _schedule.ExpiryOf(gun));
                return Outcome.Done;
            }

            metrics.ResignerRepositories.WithLabels("renewed").Inc();
            Schedule(gun, new CurrentChain(renewed.Timestamp, renewed.Snapshot ?? current.Snapshot), holdings.Snapshot, true);
            return Outcome.Done;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is ChainRenewalException or TufFormatException)
        {
            // Nothing the server can do until the owner publishes (expired or invalid root, client-held snapshot expired).
            metrics.ResignerRepositories.WithLabels("failed").Inc();
            SetAside(gun, null, skipped: false, e.Message);
            return Outcome.Done;
        }
        catch (Exception e) when (renew)
        {
            metrics.ResignerRepositories.WithLabels("failed").Inc();
            var first = _atRisk.Count == 0;
            _atRisk.Add(gun);
            status.Report(_atRisk.Count, e.Message);
            if (first)
            {
                LogRenewalFailed(gun, e);
            }
            else
            {
                LogStillFailing(gun, _atRisk.Count, e.Message);
            }

            return Outcome.Failed;
        }
    }

    /// <summary>
    /// Schedules a repository from its head, read with a page of others, as <see cref="EvaluateAsync"/> without
    /// <c>renew</c> would: its due time, or due now when it needs renewal. False, and nothing done, when the head does
    /// not show the current chain (the timestamp names another snapshot than the newest, or a file does not parse):
    /// the per-repository path looks at it.
    /// </summary>
    private bool TrySchedule(RepositoryHead head, DateTimeOffset now)
    {
        if (head.Snapshot is null)
        {
            return false;
        }

        CurrentChain current;
        try
        {
            var timestamp = MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(head.Timestamp.Data));
            if (!string.Equals(timestamp.Meta.GetValueOrDefault(RoleName.Snapshot)?.Sha256Hex, head.Snapshot.Sha256, StringComparison.Ordinal))
            {
                return false;
            }

            var snapshot = MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(head.Snapshot.Data));
            current = new CurrentChain(new ChainFile(head.Timestamp.Data, timestamp), new ChainFile(head.Snapshot.Data, snapshot));
        }
        catch (TufFormatException)
        {
            return false;
        }

        var known = _holdings.GetValueOrDefault(head.Gun);
        var snapshotHeld = known?.Snapshot ?? true;
        if (ChainRenewal.Assess(current, now, _lifetimes.TimestampMargin, snapshotHeld ? _lifetimes.SnapshotMargin : null) == RenewalNeed.None)
        {
            Schedule(head.Gun, current, snapshotHeld, known is not null);
        }
        else
        {
            _schedule.Set(head.Gun, now, ChainRenewal.EarliestServerExpiry(current, snapshotServerHeld: false));
        }

        return true;
    }

    private void Schedule(string gun, CurrentChain chain, bool snapshotHeld, bool holdingsKnown)
    {
        _schedule.Set(
            gun,
            ChainRenewal.DueAt(chain, _lifetimes.TimestampMargin, snapshotHeld ? _lifetimes.SnapshotMargin : null),
            ChainRenewal.EarliestServerExpiry(chain, snapshotHeld && holdingsKnown));
        if (_atRisk.Remove(gun))
        {
            status.Report(_atRisk.Count, status.Reason);
        }
    }

    private void SetAside(string gun, string? rootSha256, bool skipped, string reason)
    {
        Drop(gun);
        var key = rootSha256 ?? reason;
        if (_setAside.TryGetValue(gun, out var logged) && logged == key)
        {
            return;
        }

        _setAside[gun] = key;
        if (skipped)
        {
            metrics.ResignerRepositories.WithLabels("skipped").Inc();
            LogSkipped(gun, reason);
        }
        else
        {
            LogCannotRenew(gun, reason);
        }
    }

    private void Drop(string gun)
    {
        _schedule.Remove(gun);
        _holdings.Remove(gun);
        if (_atRisk.Remove(gun))
        {
            status.Report(_atRisk.Count, status.Reason);
        }
    }

    /// <summary>Which of timestamp and snapshot the server can sign for this root (asked of the signer once per root).</summary>
    private async Task<Holdings> HoldingsAsync(string gun, StoredFile root, CancellationToken cancellationToken)
    {
        if (_holdings.TryGetValue(gun, out var known) && known.RootSha256 == root.Sha256)
        {
            return known;
        }

        var metadata = RootMetadata.FromEnvelope(SignedEnvelope.Parse(root.Data));
        var holdings = new Holdings(
            root.Sha256,
            await signer.HoldsAnyAsync(metadata.GetBaseRole(RoleName.Timestamp).Keys.Keys, cancellationToken),
            await signer.HoldsAnyAsync(metadata.GetBaseRole(RoleName.Snapshot).Keys.Keys, cancellationToken));
        _holdings[gun] = holdings;
        return holdings;
    }

    private async Task PaceAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (_nextSlot > now)
        {
            await Task.Delay(_nextSlot - now, timeProvider, cancellationToken);
            now = _nextSlot;
        }

        _nextSlot = now + TimeSpan.FromSeconds(1 / _options.MaxPerSecond);
    }

    private TimeSpan NextBackoff()
    {
        var wait = _backoff;
        _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, MaxBackoff.Ticks));
        return wait;
    }

    // Until the earliest renewal or the next changefeed read, whichever comes first.
    private TimeSpan UntilNextRound()
    {
        var wait = DiscoveryInterval;
        if (_schedule.NextDue is { } due && due - timeProvider.GetUtcNow() < wait)
        {
            wait = due - timeProvider.GetUtcNow();
        }

        return wait;
    }

    private void Publish()
    {
        status.Report(_atRisk.Count, status.Reason);
        metrics.ResignerAtRisk.Set(_atRisk.Count);
        status.Scheduled = _schedule.Count;
        metrics.ResignerScheduled.Set(_schedule.Count);
        metrics.ResignerEarliestExpiry.Set(_schedule.EarliestExpiry is { } expiry ? expiry.ToUnixTimeMilliseconds() / 1000.0 : double.NaN);
    }

    private sealed record Holdings(string RootSha256, bool Timestamp, bool Snapshot);

    [LoggerMessage(EventId = 1750, Level = LogLevel.Information, Message = "Background re-signer working on this replica: {Repositories} repositories scheduled")]
    private partial void LogWorking(int repositories);

    [LoggerMessage(EventId = 1751, Level = LogLevel.Warning, Message = "Background re-signer lost its lease (database session ended); another replica or a later attempt takes over")]
    private partial void LogLeaseLost();

    [LoggerMessage(EventId = 1752, Level = LogLevel.Warning, Message = "Background re-signer round failed; retrying")]
    private partial void LogRoundFailed(Exception exception);

    [LoggerMessage(EventId = 1753, Level = LogLevel.Warning, Message = "Re-signing {Gun} ahead of expiry failed; due repositories wait and are retried with backoff")]
    private partial void LogRenewalFailed(string gun, Exception exception);

    [LoggerMessage(EventId = 1754, Level = LogLevel.Debug, Message = "Re-signing {Gun} failed again ({AtRisk} repositories at risk): {Reason}")]
    private partial void LogStillFailing(string gun, int atRisk, string reason);

    [LoggerMessage(EventId = 1755, Level = LogLevel.Warning, Message = "Not re-signing {Gun}: {Reason}; looked at again when it changes")]
    private partial void LogSkipped(string gun, string reason);

    [LoggerMessage(EventId = 1756, Level = LogLevel.Warning, Message = "Cannot re-sign {Gun}: {Reason}; looked at again when it changes")]
    private partial void LogCannotRenew(string gun, string reason);
}
