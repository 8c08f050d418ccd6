using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using TrustServer.Data.Import;
using TrustServer.Data.Model;

namespace TrustServer.Data;

/// <summary><see cref="IMetadataImportWriter"/>: the import commands' writes, under the same per-GUN transaction as publishes.</summary>
internal sealed partial class EfMetadataStore : IMetadataImportWriter
{
    public async Task<GunImportResult> ImportAsync(
        string gun, IReadOnlyList<ImportedFile> files, IReadOnlyList<ImportedChange> changes, bool dryRun, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(gun);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(changes);
        if (gun.Length > MetadataDbContext.NameMaxLength)
        {
            throw new ArgumentException($"GUN is longer than {MetadataDbContext.NameMaxLength} characters.", nameof(gun));
        }

        // Checks that need no database: a row whose bytes do not hash to its recorded SHA-256, duplicates.
        var conflicts = CheckImportRows(files, changes);
        if (conflicts.Count > 0)
        {
            return new GunImportResult(gun, 0, 0, 0, 0, 0, conflicts, dryRun);
        }

        var result = await WriteAsync(gun, async (db, _, ct) =>
        {
            var outcome = await PlanImportAsync(db, gun, files, changes, ct).ConfigureAwait(false);
            if (outcome.Conflicts.Count > 0)
            {
                return (outcome.Result(gun, dryRun), false);
            }

            if (outcome.RemoveIds.Count > 0)
            {
                var remove = outcome.RemoveIds;
                await db.TufFiles.Where(f => remove.Contains(f.Id)).ExecuteDeleteAsync(ct).ConfigureAwait(false);
            }

            db.TufFiles.AddRange(outcome.AddFiles.Select(f => new TufFileEntity
            {
                CreatedAt = Microseconds(f.CreatedAt),
                Gun = gun,
                Role = f.Role,
                Version = f.Version,
                Data = f.Data,
                Sha256 = f.Sha256,
            }));
            db.Changes.AddRange(outcome.AddChanges.Select(c => new ChangeEntity
            {
                Id = c.Id,
                CreatedAt = Microseconds(c.CreatedAt),
                Gun = gun,
                Version = c.Version,
                Sha256 = c.Sha256,
                Category = c.Category,
            }));
            var changed = outcome.AddFiles.Count + outcome.AddChanges.Count + outcome.RemoveIds.Count > 0;
            if (changed)
            {
                db.AddAudit(
                    new AuditEntry(
                        AuditActions.Import,
                        AuditOutcomes.Succeeded,
                        AuditActor.System("import"),
                        gun,
                        AuditEntry.Describe(outcome.AddFiles.Select(f => (f.Role, f.Version))),
                        $"{outcome.AddFiles.Count} files, {outcome.AddChanges.Count} changefeed records, {outcome.RemoveIds.Count} files removed"),
                    NowMicroseconds(_timeProvider));
            }

            await db.SaveChangesAsync(ct).ConfigureAwait(false);
            return (outcome.Result(gun, dryRun), !dryRun);
        }, cancellationToken).ConfigureAwait(false);

        if (result.Conflicts.Count > 0)
        {
            Log.ImportConflict(_logger, gun, result.Conflicts.Count, result.Conflicts[0].Detail);
        }
        else if (result.Changed && !dryRun)
        {
            Log.Imported(_logger, gun, result.FilesAdded, result.ChangesAdded, result.FilesRemoved);
        }

        return result;
    }

    public async Task ReserveChangeIdsAsync(long highestSourceId, long headroom, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(highestSourceId);
        ArgumentOutOfRangeException.ThrowIfNegative(headroom);
        await using var db = await _contexts.CreateAsync(cancellationToken).ConfigureAwait(false);
        await db.Database.ExecuteSqlRawAsync(_dialect.ReserveChangeIdsSql, [checked(highestSourceId + headroom)], cancellationToken).ConfigureAwait(false);
    }

    private static List<ImportConflict> CheckImportRows(IReadOnlyList<ImportedFile> files, IReadOnlyList<ImportedChange> changes)
    {
        var conflicts = new List<ImportConflict>();
        var versions = new HashSet<(string, long)>();
        foreach (var file in files)
        {
            ArgumentNullException.ThrowIfNull(file);
            var actual = Convert.ToHexStringLower(SHA256.HashData(file.Data));
            if (!string.Equals(actual, file.Sha256, StringComparison.Ordinal))
            {
                conflicts.Add(new(ImportConflictKind.HashMismatch, $"{file.Role} version {file.Version}: recorded sha256 {file.Sha256}, the bytes hash to {actual}"));
            }

            if (!versions.Add((file.Role, file.Version)))
            {
                conflicts.Add(new(ImportConflictKind.Duplicate, $"{file.Role} version {file.Version} twice"));
            }
        }

        var ids = new HashSet<long>();
        foreach (var change in changes)
        {
            ArgumentNullException.ThrowIfNull(change);
            if (change.Id < 1 || !ids.Add(change.Id) || change.Category is not (ChangeEntity.UpdateCategory or ChangeEntity.DeletionCategory))
            {
                conflicts.Add(new(ImportConflictKind.Duplicate, $"changefeed id {change.Id} ({change.Category}) twice, not positive or of an unknown category"));
            }
        }

        return conflicts;
    }

    // Compares the rows with what the destination holds for the GUN (read under the GUN's lock).
    private static async Task<ImportPlan> PlanImportAsync(
        MetadataDbContext db, string gun, IReadOnlyList<ImportedFile> files, IReadOnlyList<ImportedChange> changes, CancellationToken cancellationToken)
    {
        var plan = new ImportPlan();
        var ids = changes.Select(c => c.Id).ToList();
        var storedChanges = ids.Count == 0
            ? []
            : await db.Changes.AsNoTracking().Where(c => ids.Contains(c.Id)).ToDictionaryAsync(c => c.Id, cancellationToken).ConfigureAwait(false);
        foreach (var change in changes)
        {
            if (!storedChanges.TryGetValue(change.Id, out var stored))
            {
                plan.AddChanges.Add(change);
            }
            else if (stored.Gun == gun && stored.Version == change.Version && stored.Sha256 == change.Sha256 && stored.Category == change.Category)
            {
                plan.ChangesSkipped++;
            }
            else
            {
                plan.Conflicts.Add(new(
                    ImportConflictKind.ChangeIdTaken,
                    $"changefeed id {change.Id} ({change.Category} version {change.Version}) is stored for {stored.Gun} ({stored.Category} version {stored.Version} {stored.Sha256})"));
            }
        }

        var storedFiles = await db.TufFiles.AsNoTracking().Where(f => f.Gun == gun)
            .Select(f => new { f.Id, f.Role, f.Version, f.Sha256 })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var incoming = files.ToDictionary(f => (f.Role, f.Version), f => f.Sha256);
        var byVersion = new Dictionary<(string, long), string>();
        var sourceDeletedSince = plan.AddChanges.Any(c => c.Category == ChangeEntity.DeletionCategory);
        foreach (var stored in storedFiles)
        {
            // The source deleted the repository since these were imported: its delete removed them there.
            if (sourceDeletedSince && incoming.GetValueOrDefault((stored.Role, stored.Version)) != stored.Sha256)
            {
                plan.RemoveIds.Add(stored.Id);
            }
            else
            {
                byVersion[(stored.Role, stored.Version)] = stored.Sha256;
            }
        }

        foreach (var file in files)
        {
            if (!byVersion.TryGetValue((file.Role, file.Version), out var storedSha))
            {
                plan.AddFiles.Add(file);
            }
            else if (storedSha == file.Sha256)
            {
                plan.FilesSkipped++;
            }
            else
            {
                plan.Conflicts.Add(new(ImportConflictKind.FileDiffers, $"{file.Role} version {file.Version}: stored with sha256 {storedSha}, the source has {file.Sha256}"));
            }
        }

        return plan;
    }

    private static DateTimeOffset Microseconds(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % 10), TimeSpan.Zero);
    }

    private sealed class ImportPlan
    {
        public List<ImportedFile> AddFiles { get; } = [];

        public List<ImportedChange> AddChanges { get; } = [];

        public List<long> RemoveIds { get; } = [];

        public List<ImportConflict> Conflicts { get; } = [];

        public int FilesSkipped { get; set; }

        public int ChangesSkipped { get; set; }

        public GunImportResult Result(string gun, bool dryRun) => Conflicts.Count > 0
            ? new(gun, 0, 0, 0, 0, 0, Conflicts, dryRun)
            : new(gun, AddFiles.Count, FilesSkipped, RemoveIds.Count, AddChanges.Count, ChangesSkipped, [], dryRun);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2050, Level = LogLevel.Information, Message = "Imported into {Gun}: {FilesAdded} files, {ChangesAdded} changefeed records, {FilesRemoved} files removed")]
        public static partial void Imported(ILogger logger, string gun, int filesAdded, int changesAdded, int filesRemoved);

        [LoggerMessage(EventId = 2051, Level = LogLevel.Warning, Message = "Import into {Gun} not written: {Count} conflicts, first: {FirstConflict}")]
        public static partial void ImportConflict(ILogger logger, string gun, int count, string firstConflict);
    }
}
