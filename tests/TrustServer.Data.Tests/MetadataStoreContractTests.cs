using System.Data.Common;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TrustServer.Data.Webhooks;
using TrustServer.Tuf.Validation;

namespace TrustServer.Data.Tests;

/// <summary>
/// The <see cref="IMetadataStore"/> contract (IMetadataStore docs, spec validation.md §10, server-api.md §5, §8,
/// §10), run against every provider by the subclasses. Tests of one class share a database and run one after
/// another; each uses its own GUNs.
/// </summary>
public abstract class MetadataStoreContractTests : IAsyncLifetime
{
    private readonly IStoreDatabase _database;
    private readonly ServiceProvider _services;

    protected MetadataStoreContractTests(IStoreDatabase database, Action<IServiceCollection>? configure = null)
    {
        _database = database;
        _services = StoreServices.Create(database.Provider, database.ConnectionString, configure: configure);
        Store = _services.GetRequiredService<IMetadataStore>();
    }

    private IMetadataStore Store { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _services.DisposeAsync();

    [Fact]
    public async Task IsOperational_MigratedDatabase_True()
    {
        Assert.True(await Store.IsOperationalAsync());
    }

    [Fact]
    public async Task Reads_UnknownGun_NothingFound()
    {
        var gun = NewGun();
        Assert.Null(await Store.GetLatestAsync(gun, "root"));
        Assert.Null(await Store.GetByVersionAsync(gun, "root", 1));
        Assert.Null(await Store.GetByChecksumAsync(gun, "root", new string('0', 64)));
        Assert.Empty(await Store.GetHighestVersionsAsync(gun));
        Assert.Empty(await Store.GetLatestOfEachRoleAsync(gun));
        Assert.Empty(await Store.GetChangesAsync(gun, 0, 100));
    }

    [Fact]
    public async Task Commit_FirstUpdate_AllReadsReturnExactBytes()
    {
        var gun = NewGun();
        var files = InitialFiles(gun);

        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, files));

        foreach (var file in files)
        {
            var latest = await Store.GetLatestAsync(gun, file.Role);
            AssertStored(file, latest);
            AssertStored(file, await Store.GetByVersionAsync(gun, file.Role, file.Version));
            AssertStored(file, await Store.GetByChecksumAsync(gun, file.Role, file.Sha256Hex));
            Assert.Equal(TimeSpan.Zero, latest!.CreatedAt.Offset);
        }

        var root = files[0];
        Assert.Null(await Store.GetByChecksumAsync(gun, root.Role, root.Sha256Hex.ToUpperInvariant()));
        Assert.Null(await Store.GetByChecksumAsync(gun, "targets", root.Sha256Hex));
        Assert.Null(await Store.GetByChecksumAsync(NewGun(), root.Role, root.Sha256Hex));
        Assert.Null(await Store.GetByVersionAsync(gun, root.Role, 2));
        Assert.Null(await Store.GetByVersionAsync(gun, "targets/releases", 1));
        Assert.Equal(
            new Dictionary<string, long> { ["root"] = 1, ["targets"] = 1, ["snapshot"] = 1, ["timestamp"] = 1 },
            await Store.GetHighestVersionsAsync(gun));

        // One update record, for the timestamp.
        var change = Assert.Single(await Store.GetChangesAsync(gun, 0, 100));
        Assert.Equal(gun, change.Gun);
        Assert.Equal(1, change.Version);
        Assert.Equal(files[3].Sha256Hex, change.Sha256);
        Assert.Equal("update", change.Category);
        Assert.Equal(TimeSpan.Zero, change.CreatedAt.Offset);
    }

    [Fact]
    public async Task Commit_SecondUpdate_LatestMovesAndHistoryStaysReadable()
    {
        var gun = NewGun();
        var first = InitialFiles(gun);
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, first));
        var second = new[] { File(gun, "targets", 2), File(gun, "targets/releases", 1), File(gun, "snapshot", 2), File(gun, "timestamp", 2) };

        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, 1, second));

        AssertStored(second[0], await Store.GetLatestAsync(gun, "targets"));
        AssertStored(second[1], await Store.GetLatestAsync(gun, "targets/releases"));
        AssertStored(first[0], await Store.GetLatestAsync(gun, "root"));
        AssertStored(first[1], await Store.GetByVersionAsync(gun, "targets", 1));
        AssertStored(first[1], await Store.GetByChecksumAsync(gun, "targets", first[1].Sha256Hex));
        Assert.Equal(
            new Dictionary<string, long> { ["root"] = 1, ["targets"] = 2, ["targets/releases"] = 1, ["snapshot"] = 2, ["timestamp"] = 2 },
            await Store.GetHighestVersionsAsync(gun));
        Assert.Equal([1L, 2L], (await Store.GetChangesAsync(gun, 0, 100)).Select(c => c.Version));
    }

    [Fact]
    public async Task GetLatestOfEachRole_HighestVersionOfEveryRoleOfThatGunOnly()
    {
        var gun = NewGun();
        var neighbour = gun + "-neighbour";
        var first = InitialFiles(gun);
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, first));
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(neighbour, null, [File(neighbour, "root", 5), File(neighbour, "targets", 9)]));
        var second = new[] { File(gun, "targets", 2), File(gun, "targets/releases", 1), File(gun, "snapshot", 2), File(gun, "timestamp", 2) };
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, 1, second));
        var third = new[] { File(gun, "targets", 3), File(gun, "snapshot", 3), File(gun, "timestamp", 3) };
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, 2, third));

        var latest = await Store.GetLatestOfEachRoleAsync(gun);

        Assert.Equal(["root", "snapshot", "targets", "targets/releases", "timestamp"], latest.Keys.Order(StringComparer.Ordinal));
        AssertStored(first[0], latest["root"]);
        AssertStored(second[1], latest["targets/releases"]);
        AssertStored(third[0], latest["targets"]);
        AssertStored(third[1], latest["snapshot"]);
        AssertStored(third[2], latest["timestamp"]);
        Assert.Equal(await Store.GetHighestVersionsAsync(gun), latest.ToDictionary(f => f.Key, f => f.Value.Version));
        Assert.Equal(new Dictionary<string, long> { ["root"] = 5, ["targets"] = 9 }, (await Store.GetLatestOfEachRoleAsync(neighbour)).ToDictionary(f => f.Key, f => f.Value.Version));
    }

    [Fact]
    public async Task Commit_WithoutTimestamp_WritesNoChangeRecord()
    {
        var gun = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, [File(gun, "root", 1), File(gun, "targets", 1)]));

        Assert.Empty(await Store.GetChangesAsync(gun, 0, 100));
        Assert.Equal(2, (await Store.GetHighestVersionsAsync(gun)).Count);
    }

    [Fact]
    public async Task Commit_VersionGap_Committed()
    {
        var gun = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, InitialFiles(gun)));

        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, 1, [File(gun, "targets", 7), File(gun, "timestamp", 10)]));
        Assert.Equal(10, (await Store.GetHighestVersionsAsync(gun))["timestamp"]);
    }

    public static TheoryData<string, long> StaleOrOldFiles => new()
    {
        { "targets", 2 }, // older than stored targets v3
        { "targets", 3 }, // equal to stored
        { "root", 1 },
    };

    [Theory]
    [MemberData(nameof(StaleOrOldFiles))]
    public async Task Commit_OldOrEqualVersion_VersionConflictAndNothingWritten(string role, long version)
    {
        var gun = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, [File(gun, "root", 1), File(gun, "targets", 3), File(gun, "snapshot", 1), File(gun, "timestamp", 1)]));
        var before = await SnapshotAsync(gun);

        var outcome = await Store.CommitAsync(gun, 1, [File(gun, "snapshot", 2), File(gun, role, version), File(gun, "timestamp", 2)]);

        Assert.Equal(CommitOutcome.VersionConflict, outcome);
        await AssertUnchangedAsync(gun, before);
        Assert.Null(await Store.GetByVersionAsync(gun, "snapshot", 2));
    }

    [Fact]
    public async Task Commit_DuplicateRoleVersionInBatch_VersionConflictAndNothingWritten()
    {
        var gun = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, InitialFiles(gun)));
        var before = await SnapshotAsync(gun);

        var outcome = await Store.CommitAsync(gun, 1, [File(gun, "targets", 2), File(gun, "targets", 2, "other bytes"), File(gun, "timestamp", 2)]);

        Assert.Equal(CommitOutcome.VersionConflict, outcome);
        await AssertUnchangedAsync(gun, before);
    }

    [Fact]
    public async Task Commit_DuplicateInFirstBatch_VersionConflictAndNothingWritten()
    {
        var gun = NewGun();

        var outcome = await Store.CommitAsync(gun, null, [File(gun, "root", 1), File(gun, "root", 1, "again"), File(gun, "timestamp", 1)]);

        Assert.Equal(CommitOutcome.VersionConflict, outcome);
        Assert.Empty(await Store.GetHighestVersionsAsync(gun));
        Assert.Empty(await Store.GetChangesAsync(gun, 0, 100));
    }

    public static TheoryData<long?> StaleExpectations => new() { null, 0L, 2L, 5L };

    [Theory]
    [MemberData(nameof(StaleExpectations))]
    public async Task Commit_StaleExpectedTimestampVersion_VersionConflictAndNothingWritten(long? expected)
    {
        var gun = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, InitialFiles(gun)));
        var before = await SnapshotAsync(gun);

        var outcome = await Store.CommitAsync(gun, expected, [File(gun, "targets", 2), File(gun, "snapshot", 2), File(gun, "timestamp", 2)]);

        Assert.Equal(CommitOutcome.VersionConflict, outcome);
        await AssertUnchangedAsync(gun, before);
    }

    [Fact]
    public async Task Commit_ExpectedTimestampWithItsChecksum_Committed()
    {
        var gun = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, InitialFiles(gun)));
        var timestamp = await Store.GetLatestAsync(gun, "timestamp");

        var outcome = await Store.CommitAsync(gun, new ExpectedTimestamp(1, timestamp!.Sha256), [File(gun, "snapshot", 2), File(gun, "timestamp", 2)]);

        Assert.Equal(CommitOutcome.Committed, outcome);
        Assert.Equal(2, (await Store.GetLatestAsync(gun, "timestamp"))!.Version);
    }

    [Fact]
    public async Task Commit_SameTimestampVersionOtherChecksum_VersionConflictAndNothingWritten()
    {
        // The repository was deleted and created again up to the same timestamp version since the update was validated:
        // the version matches, the file does not.
        var gun = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, InitialFiles(gun)));
        var seen = (await Store.GetLatestAsync(gun, "timestamp"))!.Sha256;
        Assert.True(await Store.DeleteAsync(gun));
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, InitialFiles(gun, tag: " ")));
        var before = await SnapshotAsync(gun);

        var outcome = await Store.CommitAsync(gun, new ExpectedTimestamp(1, seen), [File(gun, "snapshot", 2), File(gun, "timestamp", 2)]);

        Assert.Equal(CommitOutcome.VersionConflict, outcome);
        await AssertUnchangedAsync(gun, before);
    }

    [Fact]
    public async Task Commit_ChecksumExpectedOnEmptyRepository_VersionConflict()
    {
        var gun = NewGun();

        Assert.Equal(CommitOutcome.VersionConflict, await Store.CommitAsync(gun, new ExpectedTimestamp(1, new string('a', 64)), InitialFiles(gun)));
        Assert.Empty(await Store.GetHighestVersionsAsync(gun));
    }

    [Fact]
    public async Task Commit_ExpectedTimestampOnEmptyRepository_VersionConflict()
    {
        var gun = NewGun();

        Assert.Equal(CommitOutcome.VersionConflict, await Store.CommitAsync(gun, 1, InitialFiles(gun)));
        Assert.Empty(await Store.GetHighestVersionsAsync(gun));
    }

    [Fact]
    public async Task Commit_DatabaseErrorMidUpdate_RollsBackEverything()
    {
        var gun = NewGun();

        // The second file's role exceeds varchar(255) (a CHECK constraint on SQLite): a real database error after
        // the first insert of the batch.
        var tooLong = "targets/" + new string('a', 300);
        var files = new[] { File(gun, "root", 1), File(gun, tooLong, 1), File(gun, "snapshot", 1), File(gun, "timestamp", 1) };

        await Assert.ThrowsAsync<DbUpdateException>(() => Store.CommitAsync(gun, null, files));

        Assert.Empty(await Store.GetHighestVersionsAsync(gun));
        Assert.Null(await Store.GetLatestAsync(gun, "root"));
        Assert.Empty(await Store.GetChangesAsync(gun, 0, 100));
        Assert.Equal(0, await CountRowsAsync("tuf_files", gun));
        Assert.Equal(0, await CountRowsAsync("changefeed", gun));

        // The lock and the transaction are gone: the repository is writable as new.
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, InitialFiles(gun)));
    }

    [Fact]
    public async Task Commit_GunLongerThan255_ThrowsAndWritesNothing()
    {
        var gun = "example.com/" + new string('g', 250);

        await Assert.ThrowsAsync<DbUpdateException>(() => Store.CommitAsync(gun, null, InitialFiles(gun)));

        Assert.Equal(0, await CountRowsAsync("tuf_files", gun));
        Assert.Equal(0, await CountRowsAsync("changefeed", gun));
    }

    [Fact]
    public async Task Commit_ConcurrentInsertOfSameVersionByAnotherWriter_VersionConflict()
    {
        // Another writer that does not take the store's GUN lock (e.g. a Go notary-server on the same tables)
        // inserts root v1 in an open transaction. On PostgreSQL our insert then waits on the unique index and fails
        // with 23505 once the other writer commits; on SQLite our BEGIN IMMEDIATE waits and the re-check sees the
        // row. Either way: VersionConflict, nothing of ours written.
        var gun = NewGun();
        await using var connection = await OpenRawConnectionAsync();
        await using var other = await connection.BeginTransactionAsync();
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = other;
            insert.CommandText = "INSERT INTO tuf_files (created_at, gun, role, version, data, sha256) VALUES (@created, @gun, 'root', 1, @data, @sha)";
            AddParameter(insert, "created", _database.Provider == StorageProvider.Postgres ? DateTimeOffset.UtcNow : DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            AddParameter(insert, "gun", gun);
            var root = File(gun, "root", 1, "other writer");
            AddParameter(insert, "data", root.Data);
            AddParameter(insert, "sha", root.Sha256Hex);
            Assert.Equal(1, await insert.ExecuteNonQueryAsync());
        }

        var commit = Task.Run(() => Store.CommitAsync(gun, null, InitialFiles(gun)));
        await Task.Delay(300);
        Assert.False(commit.IsCompleted);
        await other.CommitAsync();

        Assert.Equal(CommitOutcome.VersionConflict, await commit);
        Assert.Equal(new Dictionary<string, long> { ["root"] = 1 }, await Store.GetHighestVersionsAsync(gun));
        Assert.Equal("other writer"u8.ToArray(), (await Store.GetLatestAsync(gun, "root"))!.Data[^12..]);
        Assert.Empty(await Store.GetChangesAsync(gun, 0, 100));
    }

    [Fact]
    public async Task Commit_TwoReplicasRace_ExactlyOneWinsNoPartialRows()
    {
        await using var replicaA = StoreServices.Create(_database.Provider, _database.ConnectionString, "replica-a");
        await using var replicaB = StoreServices.Create(_database.Provider, _database.ConnectionString, "replica-b");
        var storeA = replicaA.GetRequiredService<IMetadataStore>();
        var storeB = replicaB.GetRequiredService<IMetadataStore>();

        for (var round = 0; round < 20; round++)
        {
            var gun = NewGun();

            // Race 1: both create the repository.
            var createA = InitialFiles(gun, "A");
            var createB = InitialFiles(gun, "B");
            var (first, second) = await RaceAsync(() => storeA.CommitAsync(gun, null, createA), () => storeB.CommitAsync(gun, null, createB));
            Assert.True(first != second, $"round {round}: create outcomes {first}/{second}");
            var created = first == CommitOutcome.Committed ? createA : createB;
            foreach (var file in created)
            {
                AssertStored(file, await Store.GetLatestAsync(gun, file.Role));
            }

            // Race 2: both publish the next update on top of timestamp v1.
            var updateA = new[] { File(gun, "targets", 2, "A2"), File(gun, "snapshot", 2, "A2"), File(gun, "timestamp", 2, "A2") };
            var updateB = new[] { File(gun, "targets", 2, "B2"), File(gun, "snapshot", 2, "B2"), File(gun, "timestamp", 2, "B2") };
            (first, second) = await RaceAsync(() => storeA.CommitAsync(gun, 1, updateA), () => storeB.CommitAsync(gun, 1, updateB));
            Assert.True(first != second, $"round {round}: update outcomes {first}/{second}");
            var updated = first == CommitOutcome.Committed ? updateA : updateB;
            foreach (var file in updated)
            {
                AssertStored(file, await Store.GetLatestAsync(gun, file.Role));
            }

            // Race 3: disjoint versions (no unique-index collision to fall back on): only the expected timestamp
            // version, checked under the GUN lock, lets exactly one of them in.
            var nextA = new[] { File(gun, "snapshot", 3, "A3"), File(gun, "timestamp", 3, "A3") };
            var nextB = new[] { File(gun, "targets", 4, "B4"), File(gun, "snapshot", 4, "B4"), File(gun, "timestamp", 4, "B4") };
            (first, second) = await RaceAsync(() => storeA.CommitAsync(gun, 2, nextA), () => storeB.CommitAsync(gun, 2, nextB));
            Assert.True(first != second, $"round {round}: disjoint update outcomes {first}/{second}");
            var next = first == CommitOutcome.Committed ? nextA : nextB;
            AssertStored(next[^1], await Store.GetLatestAsync(gun, "timestamp"));

            Assert.Equal(7 + next.Length, await CountRowsAsync("tuf_files", gun));
            var changes = await Store.GetChangesAsync(gun, 0, 100);
            Assert.Equal([created[3].Sha256Hex, updated[2].Sha256Hex, next[^1].Sha256Hex], changes.Select(c => c.Sha256));
        }
    }

    [Fact]
    public async Task Delete_Repository_RemovesAllVersionsAndRecordsOnce()
    {
        var gun = NewGun();
        var neighbour = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, InitialFiles(gun)));
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, 1, [File(gun, "root", 2), File(gun, "timestamp", 2)]));
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(neighbour, null, InitialFiles(neighbour)));

        Assert.True(await Store.DeleteAsync(gun));

        Assert.Empty(await Store.GetHighestVersionsAsync(gun));
        Assert.Null(await Store.GetLatestAsync(gun, "root"));
        Assert.Null(await Store.GetByVersionAsync(gun, "root", 1));
        Assert.Equal(4, (await Store.GetHighestVersionsAsync(neighbour)).Count);
        var changes = await Store.GetChangesAsync(gun, 0, 100);
        Assert.Equal(["update", "update", "deletion"], changes.Select(c => c.Category));
        Assert.Equal(0, changes[2].Version);
        Assert.Equal(string.Empty, changes[2].Sha256);
        Assert.Equal(gun, changes[2].Gun);

        // Nothing left: no second deletion record.
        Assert.False(await Store.DeleteAsync(gun));
        Assert.False(await Store.DeleteAsync(NewGun()));
        Assert.Equal(3, (await Store.GetChangesAsync(gun, 0, 100)).Count);

        // The repository behaves as new: versions restart at 1.
        var again = InitialFiles(gun, "again");
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, again));
        AssertStored(again[0], await Store.GetLatestAsync(gun, "root"));
        Assert.Equal(4, (await Store.GetChangesAsync(gun, 0, 100)).Count);
    }

    [Fact]
    public async Task GetChanges_Paging_ForwardBackwardAndGunFilter()
    {
        var baseline = (await Store.GetChangesAsync(null, -1, -1)).SingleOrDefault()?.Id ?? 0;
        var a = NewGun();
        var b = NewGun();
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(a, null, [File(a, "timestamp", 1)]));
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(b, null, [File(b, "timestamp", 1)]));
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(a, 1, [File(a, "timestamp", 2)]));
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(b, 1, [File(b, "timestamp", 2)]));
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(a, 2, [File(a, "timestamp", 3)]));

        var all = await Store.GetChangesAsync(null, baseline, 100);
        Assert.Equal([a, b, a, b, a], all.Select(c => c.Gun));
        Assert.Equal([1L, 1, 2, 2, 3], all.Select(c => c.Version));
        var ids = all.Select(c => c.Id).ToArray();
        Assert.Equal(ids.Order(), ids);

        // Forward: id > change_id, ascending, at most `records`; the change_id record itself is excluded.
        Assert.Equal(ids[..2], Ids(await Store.GetChangesAsync(null, baseline, 2)));
        Assert.Equal(ids[2..4], Ids(await Store.GetChangesAsync(null, ids[1], 2)));
        Assert.Equal(ids[4..], Ids(await Store.GetChangesAsync(null, ids[3], 100)));
        Assert.Empty(await Store.GetChangesAsync(null, ids[4], 100));
        Assert.Equal([ids[0], ids[2], ids[4]], Ids(await Store.GetChangesAsync(a, 0, 100)));
        Assert.Equal([ids[2], ids[4]], Ids(await Store.GetChangesAsync(a, ids[0], 100)));
        Assert.Equal([ids[3]], Ids(await Store.GetChangesAsync(b, ids[1], 1)));

        // Backward: the |records| largest ids below change_id (below nothing when change_id <= 0), ascending.
        Assert.Equal(ids[3..], Ids(await Store.GetChangesAsync(null, -1, -2)));
        Assert.Equal(ids[3..], Ids(await Store.GetChangesAsync(null, -1, 2)));
        Assert.Equal(ids[2..], Ids(await Store.GetChangesAsync(null, 0, -3)));
        Assert.Equal(ids[2..4], Ids(await Store.GetChangesAsync(null, ids[4], -2)));
        Assert.Equal(ids[..2], Ids(await Store.GetChangesAsync(null, ids[2], -2)));
        Assert.Equal([ids[1], ids[3]], Ids(await Store.GetChangesAsync(b, -1, -10)));
        Assert.Equal([ids[1]], Ids(await Store.GetChangesAsync(b, ids[3], -10)));
        Assert.Equal([ids[2], ids[4]], Ids(await Store.GetChangesAsync(a, -5, -2)));
        Assert.Equal(ids, Ids(await Store.GetChangesAsync(null, -1, int.MinValue))[^5..]);
        Assert.Empty(await Store.GetChangesAsync(a, ids[0], -10));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.GetChangesAsync(null, 0, 0));
    }

    [Fact]
    public async Task Versions_Beyond32Bits_RoundTrip()
    {
        var gun = NewGun();
        const long RootVersion = 3_000_000_000L;
        const long TimestampVersion = 5_000_000_000L;
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, [File(gun, "root", RootVersion), File(gun, "timestamp", TimestampVersion)]));

        Assert.Equal(RootVersion, (await Store.GetByVersionAsync(gun, "root", RootVersion))!.Version);
        Assert.Null(await Store.GetByVersionAsync(gun, "root", unchecked((int)RootVersion)));
        Assert.Equal(TimestampVersion, (await Store.GetLatestAsync(gun, "timestamp"))!.Version);
        Assert.Equal(TimestampVersion, (await Store.GetHighestVersionsAsync(gun))["timestamp"]);
        Assert.Equal(TimestampVersion, Assert.Single(await Store.GetChangesAsync(gun, 0, 100)).Version);
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, TimestampVersion, [File(gun, "timestamp", long.MaxValue)]));
        Assert.Equal(long.MaxValue, (await Store.GetLatestAsync(gun, "timestamp"))!.Version);
    }

    [Fact]
    public async Task CreatedAt_StoredAsUtcWithMicroseconds()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 11, 25, 13, 11, 50, TimeSpan.FromHours(2)).AddTicks(9_878_979));
        await using var services = StoreServices.Create(_database.Provider, _database.ConnectionString, "clock", clock);
        var store = services.GetRequiredService<IMetadataStore>();
        var gun = NewGun();

        Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(gun, null, InitialFiles(gun)));
        clock.Now = clock.Now.AddSeconds(1);
        Assert.True(await store.DeleteAsync(gun));

        var expected = new DateTimeOffset(2026, 11, 25, 11, 11, 50, TimeSpan.Zero).AddTicks(9_878_970);
        var root = await Store.GetByVersionAsync(gun, "root", 1);
        Assert.Null(root);
        var changes = await Store.GetChangesAsync(gun, 0, 100);
        Assert.Equal(expected, changes[0].CreatedAt);
        Assert.Equal(TimeSpan.Zero, changes[0].CreatedAt.Offset);
        Assert.Equal(expected.AddSeconds(1), changes[1].CreatedAt);

        Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(gun, null, InitialFiles(gun)));
        var stored = await Store.GetLatestAsync(gun, "timestamp");
        Assert.Equal(expected.AddSeconds(1), stored!.CreatedAt);
        Assert.Equal(TimeSpan.Zero, stored.CreatedAt.Offset);
    }

    [Fact]
    public async Task UniqueViolation_IsRecognizedForTheProvider()
    {
        var gun = NewGun();
        var factory = _services.GetRequiredService<IMetadataDbContextFactory>();
        await using var db = await factory.CreateAsync(CancellationToken.None);
        var file = File(gun, "root", 1);
        for (var i = 0; i < 2; i++)
        {
            db.TufFiles.Add(new Model.TufFileEntity { CreatedAt = DateTimeOffset.UtcNow, Gun = gun, Role = "root", Version = 1, Data = file.Data, Sha256 = file.Sha256Hex });
        }

        var error = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());

        var dialect = Providers.StorageDialect.For(_database.Provider);
        Assert.True(dialect.IsUniqueViolation(error));
        Assert.False(dialect.IsUniqueViolation(new InvalidOperationException("other", new TimeoutException())));
    }

    private static string NewGun() => $"example.com/test/{Guid.NewGuid():N}";

    private static MetadataFile File(string gun, string role, long version, string tag = "") =>
        new(role, version, Encoding.UTF8.GetBytes($"{{\"gun\":\"{gun}\",\"role\":\"{role}\",\"version\":{version},\"nonce\":\"{Guid.NewGuid():N}\"}}{tag}"));

    private static MetadataFile[] InitialFiles(string gun, string tag = "") =>
        [File(gun, "root", 1, tag), File(gun, "targets", 1, tag), File(gun, "snapshot", 1, tag), File(gun, "timestamp", 1, tag)];

    private static long[] Ids(IReadOnlyList<ChangeRecord> records) => records.Select(r => r.Id).ToArray();

    private static void AssertStored(MetadataFile expected, StoredFile? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Role, actual.Role);
        Assert.Equal(expected.Version, actual.Version);
        Assert.Equal(expected.Data, actual.Data);
        Assert.Equal(expected.Sha256Hex, actual.Sha256);
    }

    private static async Task<(CommitOutcome First, CommitOutcome Second)> RaceAsync(Func<Task<CommitOutcome>> first, Func<Task<CommitOutcome>> second)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = Task.Run(async () => { await start.Task; return await first(); });
        var b = Task.Run(async () => { await start.Task; return await second(); });
        start.SetResult();
        var results = await Task.WhenAll(a, b);
        return (results[0], results[1]);
    }

    private async Task<(IReadOnlyDictionary<string, long> Highest, int Rows, int Changes)> SnapshotAsync(string gun) =>
        (await Store.GetHighestVersionsAsync(gun), await CountRowsAsync("tuf_files", gun), await CountRowsAsync("changefeed", gun));

    private async Task AssertUnchangedAsync(string gun, (IReadOnlyDictionary<string, long> Highest, int Rows, int Changes) before)
    {
        var after = await SnapshotAsync(gun);
        Assert.Equal(before.Highest, after.Highest);
        Assert.Equal(before.Rows, after.Rows);
        Assert.Equal(before.Changes, after.Changes);
    }

    private async Task<DbConnection> OpenRawConnectionAsync()
    {
        DbConnection connection = _database.Provider == StorageProvider.Postgres
            ? new NpgsqlConnection(_database.ConnectionString)
            : new SqliteConnection(_database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private async Task<int> CountRowsAsync(string table, string gun)
    {
        await using var connection = await OpenRawConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table} WHERE gun = @gun";
        AddParameter(command, "gun", gun);
        return Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}

/// <summary>The contract on PostgreSQL.</summary>
public sealed class PostgresMetadataStoreTests(PostgresStoreDatabase database)
    : MetadataStoreContractTests(database), IClassFixture<PostgresStoreDatabase>;

/// <summary>
/// The contract on PostgreSQL through the EF write path, which publishes take when a webhook endpoint wants them (the
/// outbox row is composed in .NET); without one, they take the one-round-trip commit above.
/// </summary>
public sealed class PostgresEfPathMetadataStoreTests(PostgresStoreDatabase database)
    : MetadataStoreContractTests(database, services => services.AddSingleton<IWebhookComposer, WantsPublishesComposer>()), IClassFixture<PostgresStoreDatabase>
{
    private sealed class WantsPublishesComposer : IWebhookComposer
    {
        public bool Wants(string type) => type == WebhookEventTypes.Published;

        public IReadOnlyList<WebhookMessage> Compose(WebhookEvent change) => [];

        public void Committed()
        {
        }
    }
}

/// <summary>The contract on an SQLite file.</summary>
public sealed class SqliteMetadataStoreTests(SqliteStoreDatabase database)
    : MetadataStoreContractTests(database), IClassFixture<SqliteStoreDatabase>;
