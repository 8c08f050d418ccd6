using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using TrustServer.Data.Model;
using TrustServer.Data.Providers;
using TrustServer.Data.Webhooks;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Data;

/// <summary>
/// <see cref="IMetadataStore"/> on EF Core (PostgreSQL or SQLite). Thread-safe singleton: every call takes its own
/// context from the (pooled) factory. Writes of one GUN are serialized by the database (see
/// <see cref="StorageDialect"/>), so the optimistic checks inside the transaction hold across replicas; the
/// unique index on (gun, role, version) backs them up.
/// </summary>
internal sealed partial class EfMetadataStore : IMetadataStore, IDisposable
{
    private readonly IMetadataDbContextFactory _contexts;
    private readonly StorageDialect _dialect;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<EfMetadataStore> _logger;
    private readonly IWebhookComposer? _webhooks;

    // SQLite only: queues this process's writers in memory instead of letting them spin on SQLITE_BUSY; the
    // database lock (BEGIN IMMEDIATE) still serializes them against other processes and store instances.
    private readonly SemaphoreSlim? _localWriteLock;

    public EfMetadataStore(
        IMetadataDbContextFactory contexts, StorageProvider provider, TimeProvider timeProvider, ILogger<EfMetadataStore> logger, IWebhookComposer? webhooks = null)
    {
        _contexts = contexts;
        _webhooks = webhooks;
        _dialect = StorageDialect.For(provider);
        _timeProvider = timeProvider;
        _logger = logger;
        _localWriteLock = provider == StorageProvider.Sqlite ? new SemaphoreSlim(1, 1) : null;
    }

    public async Task<StoredFile?> GetLatestAsync(string gun, string role, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gun);
        ArgumentNullException.ThrowIfNull(role);
        await using var db = await _contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        return await db.TufFiles.AsNoTracking()
            .Where(f => f.Gun == gun && f.Role == role)
            .OrderByDescending(f => f.Version)
            .Select(f => new StoredFile(f.Role, f.Version, f.Data, f.Sha256, f.CreatedAt))
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredFile?> GetByVersionAsync(string gun, string role, long version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gun);
        ArgumentNullException.ThrowIfNull(role);
        await using var db = await _contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        return await db.TufFiles.AsNoTracking()
            .Where(f => f.Gun == gun && f.Role == role && f.Version == version)
            .Select(f => new StoredFile(f.Role, f.Version, f.Data, f.Sha256, f.CreatedAt))
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredFile?> GetByChecksumAsync(string gun, string role, string sha256, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gun);
        ArgumentNullException.ThrowIfNull(role);
        ArgumentNullException.ThrowIfNull(sha256);
        await using var db = await _contexts.CreateAsync(cancellationToken).ConfigureAwait(false);

        // Case-sensitive equality on both providers (PostgreSQL varchar, SQLite BINARY collation): uppercase hex
        // never matches the stored lowercase (server-api.md §5.1). Identical bytes may be stored under two
        // versions; any of them serves the request, the newest is the deterministic choice.
        return await db.TufFiles.AsNoTracking()
            .Where(f => f.Gun == gun && f.Role == role && f.Sha256 == sha256)
            .OrderByDescending(f => f.Version)
            .Select(f => new StoredFile(f.Role, f.Version, f.Data, f.Sha256, f.CreatedAt))
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyDictionary<string, long>> GetHighestVersionsAsync(string gun, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gun);
        await using var db = await _contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        return await db.ReadHighestVersionsAsync(gun, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyDictionary<string, StoredFile>> GetLatestOfEachRoleAsync(string gun, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gun);
        await using var db = await _contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var rows = await db.ReadLatestOfEachRoleAsync(gun, cancellationToken).ConfigureAwait(false);
        return rows.ToDictionary(f => f.Role, f => new StoredFile(f.Role, f.Version, f.Data, f.Sha256, f.CreatedAt), StringComparer.Ordinal);
    }

    public Task<CommitOutcome> CommitAsync(
        string gun, long? expectedTimestampVersion, IReadOnlyList<MetadataFile> files, AuditContext audit, CancellationToken cancellationToken = default) =>
        CommitAsync(gun, new ExpectedTimestamp(expectedTimestampVersion), files, audit, cancellationToken);

    public async Task<CommitOutcome> CommitAsync(
        string gun, ExpectedTimestamp expected, IReadOnlyList<MetadataFile> files, AuditContext audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gun);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(audit);
        for (var i = 0; i < files.Count; i++)
        {
            if (files[i] is null)
            {
                throw new ArgumentException($"files[{i}] is null.", nameof(files));
            }
        }

        // Spec validation.md §10.2: versions per (gun, role) strictly increase; a (role, version) twice in one batch is
        // the same "old version" error.
        var batch = new HashSet<(string Role, long Version)>();
        foreach (var file in files)
        {
            if (!batch.Add((file.Role, file.Version)))
            {
                Log.OldVersion(_logger, gun, file.Role, file.Version);
                return CommitOutcome.VersionConflict;
            }
        }

        // The webhook outbox row needs the changefeed id in its body, composed here after the insert: that case takes
        // the EF path below, as SQLite always does.
        if (_dialect.CommitsInOneRoundTrip && (audit.Action != AuditActions.Publish || _webhooks is null || !_webhooks.Wants(WebhookEventTypes.Published)))
        {
            return await CommitInOneRoundTripAsync(gun, expected, files, audit, cancellationToken).ConfigureAwait(false);
        }

        return await WriteAsync(gun, async (db, highest, ct) =>
        {
            // Read under the per-GUN lock: the versions include every committed write of other requests and replicas.
            long? storedTimestamp = highest.TryGetValue(RoleName.Timestamp, out var timestampVersion) ? timestampVersion : null;
            if (storedTimestamp != expected.Version)
            {
                Log.StaleTimestamp(_logger, gun, expected.Version, storedTimestamp);
                return (CommitOutcome.VersionConflict, false);
            }

            if (expected.Sha256 is not null && storedTimestamp is { } version
                && await db.TufFiles.AsNoTracking().Where(f => f.Gun == gun && f.Role == RoleName.Timestamp && f.Version == version)
                    .Select(f => f.Sha256).FirstOrDefaultAsync(ct).ConfigureAwait(false) != expected.Sha256)
            {
                Log.OtherTimestamp(_logger, gun, version);
                return (CommitOutcome.VersionConflict, false);
            }

            foreach (var file in files)
            {
                if (highest.TryGetValue(file.Role, out var stored) && file.Version <= stored)
                {
                    Log.OldVersion(_logger, gun, file.Role, file.Version);
                    return (CommitOutcome.VersionConflict, false);
                }
            }

            var now = NowMicroseconds();
            foreach (var file in files)
            {
                var sha256 = file.Sha256Hex;
                db.TufFiles.Add(new TufFileEntity
                {
                    CreatedAt = now,
                    Gun = gun,
                    Role = file.Role,
                    Version = file.Version,
                    Data = file.Data,
                    Sha256 = sha256,
                });

                if (file.Role == RoleName.Timestamp)
                {
                    db.Changes.Add(new ChangeEntity
                    {
                        CreatedAt = now,
                        Gun = gun,
                        Version = file.Version,
                        Sha256 = sha256,
                        Category = ChangeEntity.UpdateCategory,
                    });
                }
            }

            db.AddAudit(Succeeded(audit, gun, AuditEntry.Describe(files.Select(f => (f.Role, f.Version)))), now);

            try
            {
                await db.SaveChangesAsync(ct).ConfigureAwait(false);
            }
            catch (DbUpdateException ex) when (_dialect.IsUniqueViolation(ex))
            {
                // Not reachable while every writer takes the GUN lock; kept as the constraint-level guarantee
                // (spec validation.md §10.2: unique violation on (gun, role, version) → 400 VERSION).
                Log.UniqueViolation(_logger, gun, ex);
                return (CommitOutcome.VersionConflict, false);
            }

            if (audit.Action == AuditActions.Publish)
            {
                await AddWebhookEventAsync(db, WebhookEventTypes.Published, gun, [.. files.Select(f => new WebhookRole(f.Role, f.Version))], audit, now, ct).ConfigureAwait(false);
            }

            return (CommitOutcome.Committed, true);
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<CommitOutcome> CommitInOneRoundTripAsync(
        string gun, ExpectedTimestamp expected, IReadOnlyList<MetadataFile> files, AuditContext audit, CancellationToken cancellationToken)
    {
        var entry = Succeeded(audit, gun, AuditEntry.Describe(files.Select(f => (f.Role, f.Version))));
        SqlCommitResult result;
        try
        {
            await using var db = await _contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
            result = await _dialect.CommitInOneRoundTripAsync(db, gun, expected, files, entry, NowMicroseconds(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (_dialect.IsUniqueViolation(ex))
        {
            // As on the EF path: not reachable while every writer takes the GUN lock.
            Log.UniqueViolation(_logger, gun, ex);
            return CommitOutcome.VersionConflict;
        }

        if (result.Committed)
        {
            AuditEvents.Write(_logger, entry);
            return CommitOutcome.Committed;
        }

        if (result.StoredTimestampVersion != expected.Version)
        {
            Log.StaleTimestamp(_logger, gun, expected.Version, result.StoredTimestampVersion);
        }
        else if (!result.TimestampChecksumMatched)
        {
            Log.OtherTimestamp(_logger, gun, result.StoredTimestampVersion ?? 0);
        }
        else
        {
            Log.OldVersion(_logger, gun, result.OldRole ?? string.Empty, result.OldVersion ?? 0);
        }

        return CommitOutcome.VersionConflict;
    }

    public async Task<bool> DeleteAsync(string gun, AuditContext audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gun);
        ArgumentNullException.ThrowIfNull(audit);
        return await WriteAsync(gun, async (db, _, ct) =>
        {
            var deleted = await db.TufFiles.Where(f => f.Gun == gun).ExecuteDeleteAsync(ct).ConfigureAwait(false);
            if (deleted == 0)
            {
                return (false, false);
            }

            // Spec server-api.md §8: one deletion record (version 0, empty SHA-256) only when rows were removed.
            var now = NowMicroseconds();
            db.AddAudit(Succeeded(audit, gun, string.Empty) with { Detail = audit.Detail ?? $"{deleted} files" }, now);
            db.Changes.Add(new ChangeEntity
            {
                CreatedAt = now,
                Gun = gun,
                Version = 0,
                Sha256 = string.Empty,
                Category = ChangeEntity.DeletionCategory,
            });
            await db.SaveChangesAsync(ct).ConfigureAwait(false);
            if (audit.Action == AuditActions.Delete)
            {
                await AddWebhookEventAsync(db, WebhookEventTypes.Deleted, gun, [], audit, now, ct).ConfigureAwait(false);
            }

            Log.Deleted(_logger, gun, deleted);
            return (true, true);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ChangeRecord>> GetChangesAsync(string? gun, long changeId, int records, CancellationToken cancellationToken = default)
    {
        if (records == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(records), records, "records must not be 0: the caller maps 0 to the default page size (100).");
        }

        await using var db = await _contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        var query = db.Changes.AsNoTracking();
        if (gun is not null)
        {
            query = query.Where(c => c.Gun == gun);
        }

        // Spec server-api.md §10; the change_id record itself is never included.
        List<ChangeRecord> page;
        if (records > 0 && changeId >= 0)
        {
            page = await query.Where(c => c.Id > changeId)
                .OrderBy(c => c.Id)
                .Take(records)
                .Select(c => new ChangeRecord(c.Id, c.CreatedAt, c.Gun, c.Version, c.Sha256, c.Category))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var count = (int)Math.Min(Math.Abs((long)records), int.MaxValue);
            if (changeId > 0)
            {
                query = query.Where(c => c.Id < changeId);
            }

            page = await query.OrderByDescending(c => c.Id)
                .Take(count)
                .Select(c => new ChangeRecord(c.Id, c.CreatedAt, c.Gun, c.Version, c.Sha256, c.Category))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            page.Reverse();
        }

        return page;
    }

    public async Task<bool> IsOperationalAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var db = await _contexts.CreateAsync(cancellationToken).ConfigureAwait(false);

            // Touches tuf_files: fails when the database is down or unmigrated; reads at most one row.
            _ = await db.TufFiles.AsNoTracking().AnyAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // A health probe reports any database failure (network, auth, schema, timeout) as "not operational".
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.NotOperational(_logger, ex);
            return false;
        }
    }

    public void Dispose() => _localWriteLock?.Dispose();

    /// <summary>
    /// Runs <paramref name="body"/> in one write transaction holding the GUN's lock, with the GUN's highest stored
    /// versions as read under that lock. The body returns its result and whether to commit; anything else (no
    /// commit, an exception, cancellation) rolls back and leaves nothing behind. A body that changes the repository
    /// records it with one <see cref="MetadataDbContext.AddAudit"/> before its save; after the commit every saved
    /// audit entry goes to the structured log too.
    /// </summary>
    internal async Task<T> WriteAsync<T>(
        string gun, Func<MetadataDbContext, IReadOnlyDictionary<string, long>, CancellationToken, Task<(T Result, bool Commit)>> body, CancellationToken cancellationToken)
    {
        if (_localWriteLock is not null)
        {
            await _localWriteLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await using var db = await _contexts.CreateAsync(cancellationToken).ConfigureAwait(false);

            // All or nothing is the transaction's job: a savepoint around SaveChanges would only add two round trips.
            db.Database.AutoSavepointsEnabled = false;
            var (transaction, highest) = await _dialect.BeginWriteAsync(db, gun, cancellationToken).ConfigureAwait(false);
            await using var _ = transaction.ConfigureAwait(false);
            try
            {
                var (result, commit) = await body(db, highest, cancellationToken).ConfigureAwait(false);
                if (commit)
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    foreach (var entry in db.SavedAuditEntries())
                    {
                        AuditEvents.Write(_logger, entry.Entry);
                    }

                    if (db.ChangeTracker.Entries<WebhookOutboxEntity>().Any())
                    {
                        _webhooks?.Committed();
                    }
                }
                else
                {
                    await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                }

                return result;
            }
            catch
            {
                await RollbackQuietlyAsync(transaction).ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _localWriteLock?.Release();
        }
    }

    private async Task RollbackQuietlyAsync(Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction transaction)
    {
        try
        {
            // Not cancellable: the caller's token may be what failed the write.
            await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException)
        {
            // The connection is gone or the transaction already ended; closing the connection rolls back anyway.
            Log.RollbackFailed(_logger, ex);
        }
    }

    // The outbox rows of a change, in its transaction: after the first save (the changefeed record has its id), a second
    // save in the same transaction, only when an endpoint wants the event. A failure throws and rolls back everything.
    private async Task AddWebhookEventAsync(
        MetadataDbContext db, string type, string gun, IReadOnlyList<WebhookRole> roles, AuditContext audit, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_webhooks is null || !_webhooks.Wants(type))
        {
            return;
        }

        var changefeedId = db.ChangeTracker.Entries<ChangeEntity>().Select(e => (long?)e.Entity.Id).Max();
        var messages = _webhooks.Compose(new WebhookEvent(type, gun, roles, changefeedId, audit.Actor, now));
        if (messages.Count == 0)
        {
            return;
        }

        db.AddWebhookMessages(type, gun, messages, now);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    private static AuditEntry Succeeded(AuditContext audit, string gun, string files) =>
        new(audit.Action, AuditOutcomes.Succeeded, audit.Actor, gun, files, audit.Detail);

    // PostgreSQL keeps microseconds; truncating for both providers makes returned times provider-independent.
    private DateTimeOffset NowMicroseconds() => NowMicroseconds(_timeProvider);

    /// <summary>The current time truncated to microseconds (what PostgreSQL keeps), for every time this layer writes.</summary>
    internal static DateTimeOffset NowMicroseconds(TimeProvider timeProvider)
    {
        var ticks = timeProvider.GetUtcNow().UtcTicks;
        return new DateTimeOffset(ticks - (ticks % 10), TimeSpan.Zero);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Commit to {Gun} rejected: expected timestamp version {Expected}, stored {Stored}")]
        public static partial void StaleTimestamp(ILogger logger, string gun, long? expected, long? stored);

        [LoggerMessage(EventId = 2007, Level = LogLevel.Debug, Message = "Commit to {Gun} rejected: the stored timestamp version {Version} is not the file the update was validated against")]
        public static partial void OtherTimestamp(ILogger logger, string gun, long version);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "Commit to {Gun} rejected: old or duplicate version {Version} of {Role}")]
        public static partial void OldVersion(ILogger logger, string gun, string role, long version);

        [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Commit to {Gun} hit the unique (gun, role, version) constraint; reported as a version conflict")]
        public static partial void UniqueViolation(ILogger logger, string gun, Exception exception);

        [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Deleted repository {Gun} ({Count} files)")]
        public static partial void Deleted(ILogger logger, string gun, int count);

        [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Metadata database is not operational")]
        public static partial void NotOperational(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Rolling back a metadata write failed")]
        public static partial void RollbackFailed(ILogger logger, Exception exception);
    }
}
