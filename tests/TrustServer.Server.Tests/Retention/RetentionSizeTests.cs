using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Server.Tests.Support;
using TrustServer.Testing;
using Xunit.Abstractions;

namespace TrustServer.Server.Tests.Retention;

/// <summary>
/// The database size of one repository with many publishes (each adding a target, so every targets version holds all
/// targets so far, as with <c>notary add -p</c>) before and after retention, on PostgreSQL. The number of publishes is
/// <c>RETENTION_MEASURE_PUBLISHES</c> (default 200; the figure is 2,000).
/// </summary>
public sealed class RetentionSizeTests(PostgresDatabaseFixture database, ITestOutputHelper output) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    [Trait("Category", "Measurement")]
    public async Task ManyPublishes_RetentionKeepsTheNewest_AndTheDatabaseShrinks()
    {
        var publishes = int.TryParse(Environment.GetEnvironmentVariable("RETENTION_MEASURE_PUBLISHES"), out var n) ? n : 200;
        await using var server = await TrustServerInstance.StartAsync(new ServerStorage.Postgres(database.ConnectionString));
        using var repo = await ServerRepository.CreateAsync(server.Http, "example.com/retention/size");
        await repo.InitializeAsync();
        var names = new List<string>();
        var started = DateTime.UtcNow;
        for (var v = 2; v <= publishes; v++)
        {
            names.Add($"release-{v:D5}-{Guid.NewGuid():N}");
            var targets = repo.Targets(v, [.. names]);
            var response = await repo.PublishAsync(("targets", targets), ("snapshot", repo.Snapshot(v, targets)));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        var publishTime = DateTime.UtcNow - started;
        var (rowsBefore, tableBefore, databaseBefore) = await SizesAsync();

        var policy = new RetentionPolicy(new RoleRetention(10, null), new Dictionary<string, RoleRetention>());
        var retention = server.Services.GetRequiredService<IMetadataRetention>();
        long removed = 0;
        RetentionResult result;
        started = DateTime.UtcNow;
        do
        {
            result = await retention.PruneAsync(repo.Gun, policy, DateTimeOffset.UtcNow, 500, dryRun: false);
            removed += result.Removed.Count;
        }
        while (result.More);
        var pruneTime = DateTime.UtcNow - started;

        await using (var connection = await database.OpenConnectionAsync())
        {
            await new NpgsqlCommand("VACUUM FULL tuf_files", connection).ExecuteNonQueryAsync();
        }

        var (rowsAfter, tableAfter, databaseAfter) = await SizesAsync();
        output.WriteLine(
            $"{publishes} publishes in {publishTime.TotalSeconds:F0} s; tuf_files {rowsBefore} rows, {tableBefore / 1e6:F1} MB, database {databaseBefore / 1e6:F1} MB; "
            + $"retention (KeepVersions 10) removed {removed} rows in {pruneTime.TotalSeconds:F1} s; after VACUUM FULL: {rowsAfter} rows, tuf_files {tableAfter / 1e6:F1} MB, database {databaseAfter / 1e6:F1} MB");

        Assert.Equal(rowsBefore - removed, rowsAfter);
        Assert.Equal(1 + (3 * 10), rowsAfter); // root v1 + the 10 newest targets, snapshot and timestamp versions
        Assert.True(tableAfter < tableBefore / 4, $"tuf_files {tableBefore} → {tableAfter} bytes");
        Assert.Contains(names[^1], await (await repo.GetAsync("targets.json")).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<(long Rows, long Table, long Database)> SizesAsync()
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(
            "SELECT (SELECT count(*) FROM tuf_files), pg_total_relation_size('tuf_files'), pg_database_size(current_database())", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }
}
