using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using TrustServer.Tuf;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Data;

/// <summary><see cref="IMetadataRetention"/>: pruning of old versions, under the same per-GUN transaction as publishes.</summary>
internal sealed partial class EfMetadataStore : IMetadataRetention
{
    public async Task<RetentionResult> PruneAsync(
        string gun, RetentionPolicy policy, DateTimeOffset now, int batchSize, bool dryRun, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(gun);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (!policy.Prunes)
        {
            return new RetentionResult(gun, [], false, dryRun, null);
        }

        var result = await WriteAsync(gun, async (db, _, ct) =>
        {
            var rows = await db.TufFiles.AsNoTracking().Where(f => f.Gun == gun)
                .Select(f => new Row(f.Id, f.Role, f.Version, f.CreatedAt, f.Sha256, f.Data.Length))
                .ToListAsync(ct).ConfigureAwait(false);
            if (rows.Count == 0)
            {
                return (new RetentionResult(gun, [], false, dryRun, null), false);
            }

            HashSet<(string Role, string Sha256)> named;
            try
            {
                named = await NamedByCurrentAsync(db, rows, ct).ConfigureAwait(false);
            }
            catch (TufFormatException e)
            {
                // The chain cannot be read: nothing can be shown not to be needed.
                return (new RetentionResult(gun, [], false, dryRun, e.Message), false);
            }

            var due = Due(rows, named, policy, now);
            var take = dryRun ? due : due.Take(batchSize).ToList();
            var removed = take.Select(r => new PrunedVersion(r.Role, r.Version, r.CreatedAt, r.Length)).ToList();
            if (dryRun || take.Count == 0)
            {
                return (new RetentionResult(gun, removed, false, dryRun, null), false);
            }

            var ids = take.Select(r => r.Id).ToList();
            await db.TufFiles.Where(f => ids.Contains(f.Id)).ExecuteDeleteAsync(ct).ConfigureAwait(false);
            db.AddAudit(
                new AuditEntry(
                    AuditActions.Retention,
                    AuditOutcomes.Succeeded,
                    AuditActor.System("retention"),
                    gun,
                    AuditEntry.Describe(removed.Select(r => (r.Role, r.Version))),
                    $"{removed.Count} versions removed ({removed.Sum(r => (long)r.Bytes)} bytes)"),
                NowMicroseconds(_timeProvider));
            await db.SaveChangesAsync(ct).ConfigureAwait(false);
            return (new RetentionResult(gun, removed, due.Count > take.Count, dryRun, null), true);
        }, cancellationToken).ConfigureAwait(false);

        if (result.Refused is { } reason)
        {
            Log.RetentionRefused(_logger, gun, reason);
        }
        else if (!dryRun && result.Removed.Count > 0)
        {
            Log.Pruned(_logger, gun, result.Removed.Count);
        }

        return result;
    }

    /// <summary>
    /// (role, sha256) of what the current chain names: the newest timestamp's snapshot, and every file named by that
    /// snapshot and by the newest snapshot (an owner-signed snapshot may be newer than the timestamp's until it is re-signed).
    /// </summary>
    private static async Task<HashSet<(string Role, string Sha256)>> NamedByCurrentAsync(MetadataDbContext db, List<Row> rows, CancellationToken cancellationToken)
    {
        var named = new HashSet<(string, string)>();
        var snapshotIds = new List<long>();
        if (Newest(rows, RoleName.Timestamp) is { } timestamp)
        {
            var data = await DataOfAsync(db, timestamp.Id, cancellationToken).ConfigureAwait(false);
            var meta = MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(data)).Meta;
            if (meta.GetValueOrDefault(RoleName.Snapshot)?.Sha256Hex is { } hex)
            {
                named.Add((RoleName.Snapshot, hex));
                snapshotIds.AddRange(rows.Where(r => r.Role == RoleName.Snapshot && r.Sha256 == hex).Select(r => r.Id));
            }
        }

        if (Newest(rows, RoleName.Snapshot) is { } newestSnapshot)
        {
            snapshotIds.Add(newestSnapshot.Id);
        }

        foreach (var id in snapshotIds.Distinct())
        {
            var data = await DataOfAsync(db, id, cancellationToken).ConfigureAwait(false);
            foreach (var (role, file) in MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(data)).Meta)
            {
                if (file.Sha256Hex is { } hex)
                {
                    named.Add((role, hex));
                }
            }
        }

        return named;
    }

    /// <summary>The versions the policy lets go, oldest first.</summary>
    private static List<Row> Due(List<Row> rows, HashSet<(string Role, string Sha256)> named, RetentionPolicy policy, DateTimeOffset now)
    {
        var due = new List<Row>();
        foreach (var role in rows.GroupBy(r => r.Role, StringComparer.Ordinal))
        {
            if (role.Key == RoleName.Root || policy.For(role.Key) is not { } rule)
            {
                continue; // every root version stays: clients walk the root chain to follow rotations
            }

            var newestFirst = role.OrderByDescending(r => r.Version).ToList();
            for (var rank = 1; rank < newestFirst.Count; rank++) // rank 0, the newest, always stays
            {
                var row = newestFirst[rank];
                var beyondCount = rule.KeepVersions is not { } keep || rank >= keep;
                var oldEnough = rule.KeepFor is not { } keepFor || row.CreatedAt < now - keepFor;
                if (beyondCount && oldEnough && !named.Contains((row.Role, row.Sha256)))
                {
                    due.Add(row);
                }
            }
        }

        return [.. due.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id)];
    }

    private static Row? Newest(List<Row> rows, string role) =>
        rows.Where(r => r.Role == role).MaxBy(r => r.Version);

    private static Task<byte[]> DataOfAsync(MetadataDbContext db, long id, CancellationToken cancellationToken) =>
        db.TufFiles.AsNoTracking().Where(f => f.Id == id).Select(f => f.Data).SingleAsync(cancellationToken);

    private sealed record Row(long Id, string Role, long Version, DateTimeOffset CreatedAt, string Sha256, int Length);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2090, Level = LogLevel.Information, Message = "Retention removed {Count} old versions of {Gun}")]
        public static partial void Pruned(ILogger logger, string gun, int count);

        [LoggerMessage(EventId = 2091, Level = LogLevel.Warning, Message = "Retention left {Gun} alone: its current chain cannot be read ({Reason})")]
        public static partial void RetentionRefused(ILogger logger, string gun, string reason);
    }
}
