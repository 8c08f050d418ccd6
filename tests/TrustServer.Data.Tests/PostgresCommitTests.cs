using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TrustServer.Data.Providers;
using TrustServer.Tuf.Validation;

namespace TrustServer.Data.Tests;

/// <summary>
/// What only PostgreSQL's one-round-trip commit (<see cref="PostgresCommit"/>) does beyond the store contract, which
/// <see cref="PostgresMetadataStoreTests"/> runs on it: its statements are prepared on the pooled connection, and
/// the connection string's own <c>Max Auto Prepare</c> wins.
/// </summary>
public sealed class PostgresCommitTests(PostgresStoreDatabase database) : IClassFixture<PostgresStoreDatabase>
{
    [Fact]
    public async Task Commits_ArePreparedOnThePooledConnection()
    {
        // One pooled connection: the session whose prepared statements the query below lists is the one that committed.
        var connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxPoolSize = 1 }.ConnectionString;
        await using var services = StoreServices.Create(StorageProvider.Postgres, connectionString, "prepared");
        var store = services.GetRequiredService<IMetadataStore>();
        var gun = $"example.com/prepared/{Guid.NewGuid():N}";
        long? timestamp = null;
        for (var version = 1; version <= 8; version++)
        {
            var files = new[] { File("targets", version), File("timestamp", version) };
            Assert.Equal(CommitOutcome.Committed, await store.CommitAsync(gun, timestamp, files, new AuditContext(AuditActions.Publish, AuditActor.System("test"))));
            timestamp = version;
        }

        await using var db = await services.GetRequiredService<IMetadataDbContextFactory>().CreateAsync(CancellationToken.None);
        var prepared = await db.Database.SqlQueryRaw<string>("SELECT statement AS \"Value\" FROM pg_prepared_statements").ToListAsync();

        Assert.Contains(prepared, s => s.Contains("pg_advisory_xact_lock", StringComparison.Ordinal));
        Assert.Contains(prepared, s => s.Contains("INSERT INTO tuf_files", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Host=db;Database=trust", 32)]
    [InlineData("Host=db;Database=trust;Max Auto Prepare=0", 0)]
    [InlineData("Host=db;Database=trust;MaxAutoPrepare=5", 5)]
    public void ConnectionString_MaxAutoPrepare_DefaultsTo32UnlessSet(string connectionString, int expected) =>
        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(PostgresMetadataDbContext.WithPreparedStatements(connectionString)).MaxAutoPrepare);

    private static MetadataFile File(string role, long version) =>
        new(role, version, Encoding.UTF8.GetBytes($"{{\"role\":\"{role}\",\"version\":{version}}}"));
}
