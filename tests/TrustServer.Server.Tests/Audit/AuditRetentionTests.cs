using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Server.Audit;
using TrustServer.Testing;

namespace TrustServer.Server.Tests.Audit;

/// <summary><c>Audit:KeepDays</c>: off by default; when set, the background service removes old entries in batches.</summary>
public sealed class AuditRetentionTests : IDisposable
{
    private readonly TemporaryDirectory _directory = new("trustserver-audit-retention");

    private string DatabaseFile => _directory.Combine("trustserver.db");

    [Fact]
    public async Task KeepDays_RemovesOlderEntriesAtStartInBatches_AndKeepsNewerOnes_OffByDefaultKeepsAll()
    {
        var gun = "example.com/retention";

        // Off (the default): a server start removes nothing.
        await using (var server = await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(DatabaseFile)))
        {
            await server.Services.GetRequiredService<IAuditLog>().RecordAsync(
                new AuditEntry(AuditActions.Publish, AuditOutcomes.Rejected, new AuditActor("alice", null, null), gun, "targets@1", "recent"));
        }

        await InsertOldEntriesAsync(gun, 2_345);
        await using (var server = await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(DatabaseFile)))
        {
            await Task.Delay(500);
            Assert.Equal(2_346, (await server.Services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery(gun), 0, 1)).Total);
        }

        // KeepDays=30: the start's pass removes the 2,345 old entries (three batches) and keeps the recent one.
        await using (var server = await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(DatabaseFile), [new("Audit:KeepDays", "30")]))
        {
            var log = server.Services.GetRequiredService<IAuditLog>();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            Page<AuditRecord> left;
            while ((left = await log.QueryAsync(new AuditQuery(gun), 0, 10)).Total > 1 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Assert.Equal("recent", Assert.Single(left.Items).Entry.Detail);

            // A pass by hand deletes nothing more.
            var service = server.Services.GetServices<IHostedService>().OfType<AuditRetentionService>().Single();
            Assert.Equal(0, await service.DeleteExpiredAsync(TimeSpan.FromDays(30), CancellationToken.None));
        }

        Assert.True(AuditRetentionService.BatchSize < 2_345);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    // Entries written 40 to 41 days ago, as an older server would have left them.
    private async Task InsertOldEntriesAsync(string gun, int count)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabaseFile}");
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO audit_log (created_at, action, outcome, principal, gun, files) VALUES (@time, 'publish', 'succeeded', 'old', @gun, 'targets@1')";
        var time = command.Parameters.Add("@time", SqliteType.Text);
        command.Parameters.AddWithValue("@gun", gun);
        var start = DateTime.UtcNow.AddDays(-41);
        for (var i = 0; i < count; i++)
        {
            time.Value = start.AddSeconds(i).ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }
}
