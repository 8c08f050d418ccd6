using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Data.Import;
using TrustServer.Tuf.Validation;

namespace TrustServer.Data.Tests;

/// <summary>
/// <see cref="IMetadataImportWriter"/> on every provider: original changefeed ids, idempotent re-runs, conflicts that
/// leave the GUN as it was, the source's deletions since an earlier run, and the id generator moved past imports.
/// </summary>
public abstract class MetadataImportWriterTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Then = new(2024, 5, 6, 7, 8, 9, 123456 / 1000, TimeSpan.Zero);
    private static long _nextId = 1_000;
    private readonly ServiceProvider _services;

    protected MetadataImportWriterTests(IStoreDatabase database)
    {
        _services = StoreServices.Create(database.Provider, database.ConnectionString);
        Writer = _services.GetRequiredService<IMetadataImportWriter>();
        Store = _services.GetRequiredService<IMetadataStore>();
    }

    private IMetadataImportWriter Writer { get; }

    private IMetadataStore Store { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _services.DisposeAsync();

    [Fact]
    public async Task Import_WritesBytesTimesAndOriginalIds_ThenReRunSkipsEverything()
    {
        var gun = NewGun();
        var (files, changes) = History(gun, 3);
        var first = await Writer.ImportAsync(gun, files, changes, dryRun: false);
        Assert.Equal((6, 0, 3, 0), (first.FilesAdded, first.FilesSkipped, first.ChangesAdded, first.ChangesSkipped));

        var stored = await Store.GetByVersionAsync(gun, "timestamp", 2);
        Assert.Equal(files.Single(f => f.Role == "timestamp" && f.Version == 2).Data, stored!.Data);
        Assert.Equal(Then, stored.CreatedAt);
        var feed = await Store.GetChangesAsync(gun, 0, 100);
        Assert.Equal(changes.Select(c => c.Id), feed.Select(c => c.Id));
        Assert.Equal(changes.Select(c => c.Sha256), feed.Select(c => c.Sha256));

        var again = await Writer.ImportAsync(gun, files, changes, dryRun: false);
        Assert.Equal((0, 6, 0, 3), (again.FilesAdded, again.FilesSkipped, again.ChangesAdded, again.ChangesSkipped));
        Assert.True(again.Succeeded);
        Assert.False(again.Changed);
    }

    [Fact]
    public async Task Import_LateRows_OnlyTheNewOnesAdded()
    {
        var gun = NewGun();
        var (files, changes) = History(gun, 4);
        await Writer.ImportAsync(gun, files.Take(4).ToList(), changes.Take(2).ToList(), dryRun: false);
        var rest = await Writer.ImportAsync(gun, files, changes, dryRun: false);
        Assert.Equal((4, 4, 2, 2), (rest.FilesAdded, rest.FilesSkipped, rest.ChangesAdded, rest.ChangesSkipped));
    }

    [Fact]
    public async Task Import_SameVersionOtherBytes_ConflictAndNothingWritten()
    {
        var gun = NewGun();
        var (files, changes) = History(gun, 2);
        await Writer.ImportAsync(gun, files.Take(2).ToList(), changes.Take(1).ToList(), dryRun: false);

        var forged = files.ToList();
        forged[1] = File("timestamp", 1, "{\"forged\":true}", Then);
        var result = await Writer.ImportAsync(gun, forged, changes, dryRun: false);
        var conflict = Assert.Single(result.Conflicts);
        Assert.Equal(ImportConflictKind.FileDiffers, conflict.Kind);
        Assert.Null(await Store.GetByVersionAsync(gun, "targets", 2));
        Assert.Single(await Store.GetChangesAsync(gun, 0, 100));
    }

    [Fact]
    public async Task Import_ChangeIdUsedForAnotherRecord_ConflictAndNothingWritten()
    {
        var gun = NewGun();
        var other = NewGun();
        var (files, changes) = History(gun, 1);
        await Writer.ImportAsync(other, [], [changes[0] with { Category = "deletion", Sha256 = string.Empty, Version = 0 }], dryRun: false);

        var result = await Writer.ImportAsync(gun, files, changes, dryRun: false);
        Assert.Equal(ImportConflictKind.ChangeIdTaken, Assert.Single(result.Conflicts).Kind);
        Assert.Empty(await Store.GetHighestVersionsAsync(gun));
    }

    [Fact]
    public async Task Import_HashThatIsNotTheBytes_RefusedBeforeTheDatabase()
    {
        var gun = NewGun();
        var (files, changes) = History(gun, 1);
        var result = await Writer.ImportAsync(gun, [files[0] with { Sha256 = new string('a', 64) }], changes, dryRun: false);
        Assert.Equal(ImportConflictKind.HashMismatch, Assert.Single(result.Conflicts).Kind);
        Assert.Empty(await Store.GetHighestVersionsAsync(gun));
    }

    [Fact]
    public async Task Import_DryRun_ReportsAndWritesNothing()
    {
        var gun = NewGun();
        var (files, changes) = History(gun, 2);
        var result = await Writer.ImportAsync(gun, files, changes, dryRun: true);
        Assert.Equal(4, result.FilesAdded);
        Assert.Empty(await Store.GetHighestVersionsAsync(gun));
        Assert.Empty(await Store.GetChangesAsync(gun, 0, 100));
    }

    [Fact]
    public async Task Import_SourceDeletedAndRecreatedSinceEarlierRun_OldFilesRemoved()
    {
        var gun = NewGun();
        var (oldFiles, oldChanges) = History(gun, 2);
        await Writer.ImportAsync(gun, oldFiles, oldChanges, dryRun: false);

        // On the source: DELETE (hard delete + deletion record), then a new repository from version 1.
        var deletion = new ImportedChange(Interlocked.Increment(ref _nextId), Then, 0, string.Empty, "deletion");
        var (newFiles, newChanges) = History(gun, 1, salt: "recreated");
        var result = await Writer.ImportAsync(gun, newFiles, [.. oldChanges, deletion, .. newChanges], dryRun: false);
        Assert.True(result.Succeeded, string.Join("; ", result.Conflicts));
        Assert.Equal((4, 2, 2), (result.FilesRemoved, result.FilesAdded, result.ChangesAdded));
        Assert.Equal(newFiles[1].Data, (await Store.GetLatestAsync(gun, "timestamp"))!.Data);
    }

    [Fact]
    public async Task ReserveChangeIds_OwnRecordsStartAboveImportsAndHeadroom()
    {
        var gun = NewGun();
        var (files, changes) = History(gun, 1);
        var highest = changes[^1].Id;
        await Writer.ReserveChangeIdsAsync(highest, 50);
        await Writer.ImportAsync(gun, files, changes, dryRun: false);
        await Writer.ReserveChangeIdsAsync(1, 0); // never backwards

        Assert.True(await Store.DeleteAsync(gun));
        var own = (await Store.GetChangesAsync(gun, 0, 100))[^1];
        Assert.Equal("deletion", own.Category);
        Assert.True(own.Id > highest + 50, $"own record {own.Id}, imported up to {highest}");
    }

    private static string NewGun() => $"example.com/import/{Guid.NewGuid():N}";

    // Versions 1..n of targets and timestamp and one changefeed record per timestamp, with fresh global ids.
    private static (List<ImportedFile> Files, List<ImportedChange> Changes) History(string gun, int versions, string salt = "")
    {
        var files = new List<ImportedFile>();
        var changes = new List<ImportedChange>();
        for (var v = 1; v <= versions; v++)
        {
            files.Add(File("targets", v, $"{{\"targets\":{v},\"gun\":\"{gun}{salt}\"}}", Then));
            var timestamp = File("timestamp", v, $"{{\"timestamp\":{v},\"gun\":\"{gun}{salt}\"}}", Then);
            files.Add(timestamp);
            changes.Add(new ImportedChange(Interlocked.Increment(ref _nextId), Then, v, timestamp.Sha256, "update"));
        }

        return (files, changes);
    }

    private static ImportedFile File(string role, long version, string json, DateTimeOffset created)
    {
        var data = Encoding.UTF8.GetBytes(json);
        return new ImportedFile(role, version, data, new MetadataFile(role, version, data).Sha256Hex, created);
    }
}

/// <summary>The import writer on PostgreSQL.</summary>
public sealed class PostgresMetadataImportWriterTests(PostgresStoreDatabase database)
    : MetadataImportWriterTests(database), IClassFixture<PostgresStoreDatabase>;

/// <summary>The import writer on an SQLite file.</summary>
public sealed class SqliteMetadataImportWriterTests(SqliteStoreDatabase database)
    : MetadataImportWriterTests(database), IClassFixture<SqliteStoreDatabase>;
