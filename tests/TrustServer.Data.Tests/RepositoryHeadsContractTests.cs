using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TrustServer.Tuf.Validation;

namespace TrustServer.Data.Tests;

/// <summary>
/// <see cref="IMetadataCatalog.ListRepositoryHeadsAsync"/> and <see cref="IMetadataCatalog.GetRepositoryHeadsAsync"/>
/// (the background re-signer's discovery), on every provider: the newest timestamp and snapshot of each repository,
/// in the keyset pages of <see cref="IMetadataCatalog.ListGunsWithTimestampAsync"/>.
/// </summary>
public abstract class RepositoryHeadsContractTests : IAsyncLifetime
{
    private readonly ServiceProvider _services;

    protected RepositoryHeadsContractTests(IStoreDatabase database)
    {
        _services = StoreServices.Create(database.Provider, database.ConnectionString);
        Store = _services.GetRequiredService<IMetadataStore>();
        Contexts = _services.GetRequiredService<IMetadataDbContextFactory>();
        Catalog = _services.GetRequiredService<IMetadataCatalog>();
    }

    protected IMetadataStore Store { get; }

    protected IMetadataCatalog Catalog { get; }

    private protected IMetadataDbContextFactory Contexts { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _services.DisposeAsync();

    // Several versions of each role, a repository without a timestamp, one without a snapshot, one deleted: every page
    // of heads holds the GUNs of the same page of ListGunsWithTimestampAsync, each with its newest timestamp and snapshot.
    [Fact]
    public async Task Pages_AreThoseOfListGunsWithTimestamp_WithTheNewestTimestampAndSnapshot()
    {
        var prefix = $"example.com/heads/{Guid.NewGuid():N}/";
        var expected = new Dictionary<string, (MetadataFile Timestamp, MetadataFile? Snapshot)>(StringComparer.Ordinal);
        for (var i = 0; i < 7; i++)
        {
            var gun = prefix + "r" + i;
            var timestamp = File(gun, "timestamp", 1);
            var snapshot = File(gun, "snapshot", 1);
            Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, null, [File(gun, "root", 1), File(gun, "targets", 1), snapshot, timestamp]));
            for (var version = 2; version <= i % 3 + 1; version++)
            {
                timestamp = File(gun, "timestamp", version);
                snapshot = File(gun, "snapshot", version);
                Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gun, version - 1, [snapshot, timestamp]));
            }

            expected[gun] = (timestamp, snapshot);
        }

        // A newer snapshot that no timestamp names yet is still the newest snapshot.
        var unnamed = File(prefix + "r4", "snapshot", 9);
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(prefix + "r4", expected[prefix + "r4"].Timestamp.Version, [unnamed]));
        expected[prefix + "r4"] = (expected[prefix + "r4"].Timestamp, unnamed);

        var noSnapshot = prefix + "r7";
        var lone = File(noSnapshot, "timestamp", 1);
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(noSnapshot, null, [File(noSnapshot, "root", 1), lone]));
        expected[noSnapshot] = (lone, null);
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(prefix + "r8", null, [File(prefix + "r8", "root", 1), File(prefix + "r8", "snapshot", 1)]));
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(prefix + "r9", null, [File(prefix + "r9", "snapshot", 1), File(prefix + "r9", "timestamp", 1)]));
        Assert.True(await Store.DeleteAsync(prefix + "r9"));

        // Every page of the whole database, 3 at a time, against the GUN pages.
        var heads = new List<RepositoryHead>();
        string? after = null;
        while (true)
        {
            var guns = await Catalog.ListGunsWithTimestampAsync(after, 3);
            var page = await Catalog.ListRepositoryHeadsAsync(after, 3);
            Assert.Equal(guns, page.Select(h => h.Gun));
            heads.AddRange(page);
            if (page.Count < 3)
            {
                break;
            }

            after = page[^1].Gun;
        }

        var ours = heads.Where(h => h.Gun.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), ours.Select(h => h.Gun).Order(StringComparer.Ordinal));
        foreach (var head in ours)
        {
            AssertHead(expected[head.Gun], head);
        }
    }

    // Unknown, timestamp-less and deleted GUNs are left out; duplicates count once.
    [Fact]
    public async Task ForGivenGuns_OnlyThoseWithATimestamp()
    {
        var prefix = $"example.com/heads/{Guid.NewGuid():N}/";
        var a = prefix + "a";
        var b = prefix + "b";
        var bare = prefix + "bare";
        var gone = prefix + "gone";
        var aTimestamp = File(a, "timestamp", 1);
        var aSnapshot = File(a, "snapshot", 1);
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(a, null, [aSnapshot, aTimestamp]));
        var bTimestamp = File(b, "timestamp", 3);
        var bSnapshot = File(b, "snapshot", 2);
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(b, null, [File(b, "snapshot", 1), File(b, "timestamp", 1)]));
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(b, 1, [bSnapshot, bTimestamp]));
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(bare, null, [File(bare, "root", 1)]));
        Assert.Equal(CommitOutcome.Committed, await Store.CommitAsync(gone, null, [File(gone, "snapshot", 1), File(gone, "timestamp", 1)]));
        Assert.True(await Store.DeleteAsync(gone));

        var heads = await Catalog.GetRepositoryHeadsAsync([b, bare, gone, prefix + "unknown", a, b]);

        Assert.Equal([a, b], heads.Select(h => h.Gun).Order(StringComparer.Ordinal));
        AssertHead((aTimestamp, aSnapshot), heads.Single(h => h.Gun == a));
        AssertHead((bTimestamp, bSnapshot), heads.Single(h => h.Gun == b));
        Assert.Empty(await Catalog.GetRepositoryHeadsAsync([]));
    }

    private static void AssertHead((MetadataFile Timestamp, MetadataFile? Snapshot) expected, RepositoryHead head)
    {
        Assert.Equal(expected.Timestamp.Version, head.Timestamp.Version);
        Assert.Equal(expected.Timestamp.Data, head.Timestamp.Data);
        Assert.Equal(expected.Timestamp.Sha256Hex, head.Timestamp.Sha256);
        Assert.Equal("timestamp", head.Timestamp.Role);
        if (expected.Snapshot is null)
        {
            Assert.Null(head.Snapshot);
            return;
        }

        Assert.NotNull(head.Snapshot);
        Assert.Equal("snapshot", head.Snapshot.Role);
        Assert.Equal(expected.Snapshot.Version, head.Snapshot.Version);
        Assert.Equal(expected.Snapshot.Data, head.Snapshot.Data);
        Assert.Equal(expected.Snapshot.Sha256Hex, head.Snapshot.Sha256);
    }

    private static MetadataFile File(string gun, string role, long version) =>
        new(role, version, Encoding.UTF8.GetBytes($"{{\"gun\":\"{gun}\",\"role\":\"{role}\",\"version\":{version},\"nonce\":\"{Guid.NewGuid():N}\"}}"));
}

/// <summary>The heads on PostgreSQL, and the plan: index probes, no scan of the table.</summary>
public sealed class PostgresRepositoryHeadsTests(PostgresStoreDatabase database)
    : RepositoryHeadsContractTests(database), IClassFixture<PostgresStoreDatabase>
{
    // The plan of a page among 6,000 repositories with planner statistics: per GUN, probes of the (gun, role, version)
    // index, never a scan of the table.
    [Fact]
    public async Task HeadsOfAPage_ProbeTheUniqueIndex_NoSequentialScan()
    {
        var prefix = $"example.com/heads-plan/{Guid.NewGuid():N}/";
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using (var load = new NpgsqlCommand("""
            INSERT INTO tuf_files (created_at, gun, role, version, data, sha256)
            SELECT now(), $1 || lpad(g::text, 5, '0'), r.role, v, '\x00'::bytea, repeat('0', 64)
            FROM generate_series(1, 6000) AS g CROSS JOIN (VALUES ('root'), ('targets'), ('snapshot'), ('timestamp')) AS r(role) CROSS JOIN generate_series(1, 2) AS v
            """, connection) { Parameters = { new() { Value = prefix } } })
        {
            await load.ExecuteNonQueryAsync();
        }

        await using (var analyze = new NpgsqlCommand("ANALYZE tuf_files", connection))
        {
            await analyze.ExecuteNonQueryAsync();
        }

        string sql;
        await using (var db = await Contexts.CreateAsync(CancellationToken.None))
        {
            sql = db.HeadsPageSql(first: false);
        }

        await using var explain = new NpgsqlCommand("EXPLAIN " + sql.Replace("@after", "$1", StringComparison.Ordinal).Replace("@take", "$2", StringComparison.Ordinal), connection)
        {
            Parameters = { new() { Value = prefix + "03000" }, new() { Value = 100 } },
        };
        var plan = new StringBuilder();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.AppendLine(reader.GetString(0));
            }
        }

        Assert.Contains("ux_tuf_files_gun_role_version", plan.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Seq Scan", plan.ToString(), StringComparison.Ordinal);
        Assert.Equal(100, (await Catalog.ListRepositoryHeadsAsync(prefix + "03000", 100)).Count(h => h.Gun.StartsWith(prefix, StringComparison.Ordinal)));
    }
}

/// <summary>The heads on an SQLite file.</summary>
public sealed class SqliteRepositoryHeadsTests(SqliteStoreDatabase database)
    : RepositoryHeadsContractTests(database), IClassFixture<SqliteStoreDatabase>;
